"""Acknowledgements through the real daemon, Dovecot and SMTP receiver: hostile subjects,
templates edited while it runs, and the promise it makes."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from pytest import MonkeyPatch

from mailbot.resources import shipped
from mailbot.testing.servers import Dovecot, SmtpReceiver
from tests.conftest import running_daemon, write_config


def customer_mail(n: int, subject_header: str, body: str) -> bytes:
    return (
        f"From: Jane <jane{n}@customer.test>\r\nTo: support@example.test\r\n"
        f"Subject: {subject_header}\r\nMessage-ID: <ack-{n}@customer.test>\r\n"
        "Date: Mon, 23 Nov 2026 10:00:00 +0900\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()


def parsed(data: bytes) -> EmailMessage:
    msg = message_from_bytes(data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def text_of(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def html_of(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("html",))
    assert body is not None
    return str(body.get_content())


def run_once(config: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mailbot", "run", "--once", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_hostile_subject_cannot_inject_headers_or_template_code(
    config: Path, dovecot: Dovecot, smtp_receiver: SmtpReceiver
) -> None:
    evil = "Withdrawal stuck\r\nBcc: victim@evil.test\r\n {{ 7*7 }} {% if 1 %}X{% endif %}"
    encoded = base64.b64encode(evil.encode()).decode()
    dovecot.append(
        customer_mail(1, f"=?utf-8?b?{encoded}?=", "My withdrawal is stuck since yesterday.")
    )
    run_once(config)
    [ack] = smtp_receiver.wait_for(1)
    assert ack.rcpt_tos == ["jane1@customer.test"]  # nobody else: no Bcc was injected
    msg = parsed(ack.data)
    assert msg["Bcc"] is None and "victim" not in "".join(msg.keys()).lower()
    subject = str(msg["Subject"])
    assert "\n" not in subject and "{{ 7*7 }}" in subject and "{% if 1 %}" in subject
    for body in (text_of(msg), html_of(msg)):
        assert "{{ 7*7 }}" in body and "49" not in body


def test_a_template_edited_while_running_is_used_and_a_broken_one_falls_back(
    tmp_path: Path, dovecot: Dovecot, smtp_receiver: SmtpReceiver
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(shipped("templates"), templates)
    config = write_config(
        tmp_path, dovecot, smtp_receiver, f'[paths]\ntemplates_dir = "{templates}"\n'
    )
    body = "Hello, my USDT deposit via TRC20 has not arrived after 3 hours. TXID attached."
    with running_daemon(config, dovecot.password) as daemon:
        dovecot.append(customer_mail(1, "USDT deposit missing", body))
        [first] = smtp_receiver.wait_for(1, timeout=30)
        assert "EDITED-MARKER" not in text_of(parsed(first.data))

        security = templates / "en" / "_security.txt.j2"
        security.write_text("EDITED-MARKER\n" + security.read_text("utf-8"), "utf-8")
        dovecot.append(customer_mail(2, "USDT deposit missing again", body))
        second = smtp_receiver.wait_for(2, timeout=30)[1]
        assert "EDITED-MARKER" in text_of(parsed(second.data))

        # An admin breaks every category template; customers still get the generic one.
        for category in ("deposit_withdrawal", "trading", "technical", "fees_general"):
            path = templates / "en" / f"{category}.txt.j2"
            path.write_text("{{ ticket.ref }} {{ ticket.no_such_field }}", "utf-8")
        dovecot.append(customer_mail(3, "Deposit not credited", body))
        third = parsed(smtp_receiver.wait_for(3, timeout=30)[2].data)
        default_text = (templates / "en" / "default.txt.j2").read_text("utf-8")
        assert "Thank you for contacting us" in default_text
        assert "Thank you for contacting us" in text_of(third)
    assert "ALERT template" in daemon.stderr and "no_such_field" in daemon.stderr
    check = subprocess.run(
        [sys.executable, "-m", "mailbot", "templates", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 1
    assert "error: en/deposit_withdrawal.txt.j2:1: UndefinedError" in check.stdout


def test_promise_uses_the_business_calendar_and_the_customers_zone(
    tmp_path: Path, dovecot: Dovecot, smtp_receiver: SmtpReceiver, monkeypatch: MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILBOT_IMAP_PASSWORD", dovecot.password)
    config = write_config(
        tmp_path,
        dovecot,
        smtp_receiver,
        '[sla]\ntimezone = "Asia/Seoul"\nholidays = ["KR"]\n'
        '[[sla.groups]]\nname = "vip"\nsenders = ["@fund.test"]\n'
        "first_response_hours = { normal = 1.0, low = 1.0 }\n",
    )
    ko = "안녕하세요. 수수료 관련해서 일반적인 질문이 있습니다. 거래 수수료 할인은 어떻게 받나요?"
    dovecot.append(customer_mail(1, "수수료 문의", ko))
    vip = customer_mail(2, "Fee question", "Hi, a general question about trading fee tiers.")
    dovecot.append(vip.replace(b"jane2@customer.test", b"cio@fund.test"))
    run_once(config)
    acks = {a.rcpt_tos[0]: parsed(a.data) for a in smtp_receiver.wait_for(2)}
    korean = text_of(acks["jane1@customer.test"])
    assert "(KST)" in korean and "까지" in korean  # "by <local time> (KST)", in Korean
    assert "(KST)" in text_of(acks["cio@fund.test"])  # the calendar's zone, no language hint
    reasons = {t["customer"]: " ".join(t["reasons"]) for t in tickets_shown(config)}
    assert "from sender group vip" in reasons["cio@fund.test"]
    assert "from default, business hours (Asia/Seoul)" in reasons["jane1@customer.test"]


def tickets_shown(config: Path) -> list[dict[str, Any]]:
    def cli(*args: str) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "mailbot", *args, "--format", "json", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    return [
        {"customer": t["customer"], **cli("tickets", "show", t["ref"])["classification"]}
        for t in cli("tickets", "list")
    ]
