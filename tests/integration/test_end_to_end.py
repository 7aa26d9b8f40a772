"""The walking skeleton against real Dovecot and a real SMTP receiver, through the real CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from email import message_from_bytes, policy
from email.header import Header
from email.message import EmailMessage
from pathlib import Path

from mailbot.testing.servers import Dovecot, SmtpReceiver

REF_RE = r"\[MB-\d{6}\]"


def english_mail() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jane Doe <jane@customer.test>"
    msg["To"] = "support@example.test"
    msg["Subject"] = "Withdrawal pending for 2 days"
    msg["Message-ID"] = "<en-1@customer.test>"
    msg["Date"] = "Sun, 22 Nov 2026 09:00:00 +0000"
    msg.set_content(
        "Hi, my withdrawal of 0.3 BTC has been pending since Friday. When will it arrive?"
    )
    return msg.as_bytes()


def korean_mail() -> bytes:
    """EUC-KR body and an RFC 2047 (EUC-KR, base64) subject, as Korean webmail sends it."""
    body = "안녕하세요. 어제 입금한 USDT가 아직 잔고에 반영되지 않았습니다. 확인 부탁드립니다."
    subject = Header("입금이 반영되지 않습니다", "euc-kr").encode()
    raw = (
        (
            "From: =?EUC-KR?B?sOi1tQ==?= <minsu@customer.test>\r\n"
            "To: support@example.test\r\n"
            f"Subject: {subject}\r\n"
            "Message-ID: <ko-1@customer.test>\r\n"
            "Date: Sun, 22 Nov 2026 18:00:00 +0900\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=EUC-KR\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n"
        ).encode("ascii")
        + body.encode("euc-kr")
        + b"\r\n"
    )
    assert "입금".encode() not in raw  # the subject is only there encoded
    return raw


def reply_to(ack: bytes) -> bytes:
    parsed = message_from_bytes(ack, policy=policy.default)
    msg = EmailMessage()
    msg["From"] = "Jane Doe <jane@customer.test>"
    msg["To"] = "support@example.test"
    msg["Subject"] = "Re: " + str(parsed["Subject"])
    msg["Message-ID"] = "<en-2@customer.test>"
    msg["In-Reply-To"] = str(parsed["Message-ID"])
    msg["References"] = f"<en-1@customer.test> {parsed['Message-ID']}"
    msg.set_content("Here is the transaction hash: 0xabc123. Thanks!")
    return msg.as_bytes()


def mailbot(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailbot", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def tickets(config: Path) -> list[dict[str, object]]:
    done = mailbot(config, "tickets", "list", "--format", "json")
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def test_two_tickets_one_follow_up_two_acks_and_no_repeats(
    config: Path, dovecot: Dovecot, smtp_receiver: SmtpReceiver
) -> None:
    dovecot.append(english_mail())
    dovecot.append(korean_mail())
    first = mailbot(config, "run", "--once")
    assert first.returncode == 0, first.stderr

    acks = smtp_receiver.wait_for(2)
    by_rcpt = {a.rcpt_tos[0]: message_from_bytes(a.data, policy=policy.default) for a in acks}
    assert set(by_rcpt) == {"jane@customer.test", "minsu@customer.test"}
    listed = {t["customer"]: t for t in tickets(config)}
    assert {t["language"] for t in listed.values()} == {"en", "ko"}
    assert listed["minsu@customer.test"]["subject"] == "입금이 반영되지 않습니다"
    for customer, ack in by_rcpt.items():
        ref = listed[customer]["ref"]
        assert f"[{ref}]" in str(ack["Subject"])
        assert ack["Auto-Submitted"] == "auto-replied"
        own = "<en-1@customer.test>" if customer.startswith("jane") else "<ko-1@customer.test>"
        assert ack["In-Reply-To"] == own
        assert own in str(ack["References"])
        text = ack.get_body(preferencelist=("plain",)).get_content()
        assert ref in text
        # The promise, concretely: "within 4 hours" or "by Mon, Nov 23, 13:00 (UTC)", and
        # "4시간 이내에" or "11월 23일 (월) 13:00 (KST)까지".
        promise = r"within \d+ hours?|by .+ \d{2}:\d{2} \(|\d+시간 이내|\d{2}:\d{2} \(\w+\)까지"
        assert re.search(promise, text), text
    assert "입금이 반영되지 않습니다" in str(by_rcpt["minsu@customer.test"]["Subject"])

    # The customer answers the acknowledgement: a follow-up, not a new ticket, no new ack.
    dovecot.append(reply_to(acks[[a.rcpt_tos[0] for a in acks].index("jane@customer.test")].data))
    second = mailbot(config, "run", "--once")
    assert second.returncode == 0, second.stderr
    assert len(tickets(config)) == 2
    jane = listed["jane@customer.test"]["ref"]
    shown = json.loads(mailbot(config, "tickets", "show", str(jane), "--format", "json").stdout)
    kinds = [m["kind"] for m in shown["messages"] if m["direction"] == "in"]
    assert kinds == ["customer", "follow_up"]

    # Server flags are not the source of truth: clear \Seen and run again -> nothing new.
    assert all("\\Seen" in f for f in dovecot.flags().values())
    dovecot.clear_flag("\\Seen")
    third = mailbot(config, "run", "--once")
    assert third.returncode == 0, third.stderr
    assert len(tickets(config)) == 2
    assert len(smtp_receiver.messages) == 2
