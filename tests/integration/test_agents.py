"""Knowing that a human answered: the Sent folder, agents who Cc support, and the CLI —
against the real Dovecot and SMTP receiver, through the real daemon."""

from __future__ import annotations

import json
import subprocess
import sys
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from pytest import MonkeyPatch

from mailbot.testing.servers import Dovecot, SmtpReceiver
from tests.conftest import write_config


def customer(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Customer {n} <c{n}@customer.test>"
    msg["To"] = "support@example.test"
    msg["Subject"] = f"Withdrawal {n} still pending"
    msg["Message-ID"] = f"<agent-test-{n}@customer.test>"
    msg.set_content(f"My withdrawal number {n} has been pending for two days. Please check.")
    return msg.as_bytes()


def agent_reply(ack: bytes, *, sender: str, body: str, n: int) -> bytes:
    """What an agent's mail client sends: a reply to the acknowledgement's thread."""
    parsed = message_from_bytes(ack, policy=policy.default)
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = str(parsed["To"])
    msg["Cc"] = "support@example.test"
    msg["Subject"] = "Re: " + str(parsed["Subject"])
    msg["Message-ID"] = f"<agent-{n}@example.test>"
    msg["In-Reply-To"] = str(parsed["Message-ID"])
    msg["References"] = str(parsed["Message-ID"])
    msg.set_content(body)
    return msg.as_bytes()


def cli(config: Path, *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "mailbot", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def by_customer(config: Path) -> dict[str, dict[str, Any]]:
    rows = json.loads(cli(config, "tickets", "list", "--format", "json"))
    return {r["customer"]: r for r in rows}


def test_sent_folder_agent_addresses_and_cli_record_the_human_answer(
    tmp_path: Path, dovecot: Dovecot, smtp_receiver: SmtpReceiver, monkeypatch: MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILBOT_IMAP_PASSWORD", dovecot.password)
    dovecot.create_folder("Sent")
    config = write_config(
        tmp_path,
        dovecot,
        smtp_receiver,
        '[agents]\naddresses = ["@agents.example.test"]\n'
        '[[mailboxes]]\nname = "inbox"\n'
        '[[mailboxes]]\nname = "sent"\nfolder = "Sent"\nrole = "sent"\n',
    )
    for n in (1, 2, 3):
        dovecot.append(customer(n))
    cli(config, "run", "--once")
    acks = {a.rcpt_tos[0]: a.data for a in smtp_receiver.wait_for(3)}
    assert all(t["first_response_at"] is None for t in by_customer(config).values())

    # 1: an agent answered from the shared mailbox; the copy lands in Sent.
    dovecot.append(
        agent_reply(acks["c1@customer.test"], sender="support@example.test", body="Done.", n=1),
        folder="Sent",
    )
    # Our own acknowledgement seen in Sent (a client that copies it there) is not an answer.
    dovecot.append(acks["c2@customer.test"], folder="Sent")
    # 3: an agent wrote from their own address with support in Cc, and closed it.
    dovecot.append(
        agent_reply(
            acks["c3@customer.test"],
            sender="Mina <mina@agents.example.test>",
            body="Your withdrawal was released. #close",
            n=3,
        )
    )
    cli(config, "run", "--once")
    tickets = by_customer(config)
    assert tickets["c1@customer.test"]["first_response_at"] is not None
    assert tickets["c1@customer.test"]["status"] == "open"
    assert tickets["c2@customer.test"]["first_response_at"] is None
    assert tickets["c3@customer.test"]["first_response_at"] is not None
    assert tickets["c3@customer.test"]["status"] == "resolved"
    assert len(smtp_receiver.messages) == 3  # agents' mail is never acknowledged
    assert len(tickets) == 3  # nor turned into tickets

    # 2: answered by phone; recorded by hand, then assigned, closed and re-opened.
    ref = tickets["c2@customer.test"]["ref"]
    assert cli(config, "tickets", "respond", ref).strip() == f"{ref}: open"
    assert "assigned to jun" in cli(config, "tickets", "assign", ref, "jun")
    assert cli(config, "tickets", "close", ref).startswith(f"{ref}: resolved")
    assert cli(config, "tickets", "reopen", ref).startswith(f"{ref}: open")
    again = by_customer(config)["c2@customer.test"]
    assert again["first_response_at"] is not None and again["assignee"] == "jun"
    quarantined = cli(config, "quarantine", "list", "--format", "json")
    assert "our own automatic mail" in quarantined
