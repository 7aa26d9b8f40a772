"""Operator commands on a real database: quarantine list/show/retry, reprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, select

from mailbot.adapters.db import make_engine
from mailbot.adapters.store import Store
from mailbot.adapters.tables import InboxMessage, TicketMessage
from mailbot.core.parse import message_id_of
from mailbot.domain import FetchedMail
from mailbot.settings import load_settings
from mailbot.testing.servers import Dovecot, SmtpReceiver

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
RAW = (
    b"From: Jane <jane@customer.test>\r\nSubject: =?UTF-8?B?7J6F6riI?=\r\n"
    b"Message-ID: <q1@x>\r\n\r\nMy deposit is missing.\r\n"
)


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailbot", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_quarantine_list_show_retry_then_processed(
    config: Path, dovecot: Dovecot, smtp_receiver: SmtpReceiver
) -> None:
    assert cli(config, "run", "--once").returncode == 0  # creates the database
    store = Store(make_engine(load_settings(config).database_url))
    store.store_fetched(
        "x", "INBOX", 1, [FetchedMail("x", "INBOX", 1, 1, RAW)], [message_id_of(RAW)], now=NOW
    )
    inbox_id = store.pending_inbox(1)[0].id
    store.quarantine(inbox_id, "RuntimeError: simulated failure", now=NOW)

    listed = json.loads(cli(config, "quarantine", "list", "--format", "json").stdout)
    assert [(r["id"], r["reason"]) for r in listed] == [
        (inbox_id, "RuntimeError: simulated failure")
    ]
    shown = json.loads(cli(config, "quarantine", "show", str(inbox_id), "--format", "json").stdout)
    assert shown["subject"] == "입금" and shown["from"] == "jane@customer.test"
    assert cli(config, "quarantine", "retry").returncode == 2  # neither IDs nor --all
    missing = cli(config, "quarantine", "retry", "424242")
    assert missing.returncode == 1 and "424242" in missing.stderr
    retried = cli(config, "quarantine", "retry", "--all")
    assert retried.returncode == 0 and f"{inbox_id}" in retried.stdout
    assert cli(config, "run", "--once").returncode == 0
    assert json.loads(cli(config, "quarantine", "list", "--format", "json").stdout) == []
    assert len(smtp_receiver.wait_for(1)) == 1  # it became a ticket and was acknowledged


def test_reprocess_rebuilds_the_parse_from_the_archived_bytes(
    config: Path, dovecot: Dovecot, smtp_receiver: SmtpReceiver
) -> None:
    dovecot.append(RAW)
    assert cli(config, "run", "--once").returncode == 0
    engine = make_engine(load_settings(config).database_url)
    with Session(engine) as s:  # simulate an older parser's damaged output
        message = s.exec(select(TicketMessage).where(TicketMessage.direction == "in")).one()
        message.body, message.subject = "garbled", "garbled"
        s.add(message)
        s.commit()
    done = cli(config, "reprocess", "MB-000001")
    assert done.returncode == 0, done.stderr
    with Session(engine) as s:
        message = s.exec(select(TicketMessage).where(TicketMessage.direction == "in")).one()
        assert message.subject == "입금" and message.body == "My deposit is missing."
        assert s.exec(select(InboxMessage)).one().status == "processed"
    assert cli(config, "reprocess", "MB-999999").returncode == 1
