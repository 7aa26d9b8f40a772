"""Protecting the customer, against the real Dovecot and SMTP receiver through the real daemon:
a seed phrase in a Korean email, and a forwarded mail from a lookalike of our domain."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from mnemonic import Mnemonic
from pytest import MonkeyPatch
from sqlmodel import Session, col, select

from mailbot.adapters.archive import Archive, new_key
from mailbot.adapters.db import make_engine
from mailbot.adapters.tables import Outbox, Ticket
from mailbot.adapters.workflow import Workflow
from mailbot.clock import FrozenClock
from mailbot.core.escalation import EscalationPolicy, Step
from mailbot.core.render import Sender
from mailbot.runners.escalate import EscalationConfig, Escalator
from mailbot.testing.servers import Dovecot, SmtpReceiver
from tests.conftest import write_config
from tests.integration.test_agents import cli

PHRASE = Mnemonic("korean").to_mnemonic(bytes.fromhex("5f" * 16))
SECURITY = '[security]\nofficial_domains = ["upbit.com"]\n[logging]\nlevel = "DEBUG"\n'


def korean_mail_with_seed() -> bytes:
    msg = EmailMessage()
    msg["From"] = "김민수 <minsu@customer.test>"
    msg["To"] = "support@example.test"
    msg["Subject"] = "지갑 출금이 안 됩니다"
    msg["Message-ID"] = "<seed-1@customer.test>"
    msg.set_content(
        "안녕하세요. 출금 신청을 했는데 계속 대기 중입니다.\n"
        "확인하시라고 지갑 복구 문구 보내드립니다:\n\n"
        f"{PHRASE}\n\n빨리 처리해 주세요.\n김민수 드림\n"
    )
    return msg.as_bytes()


def forwarded_phishing() -> bytes:
    msg = EmailMessage()
    msg["From"] = "이지은 <jieun@customer.test>"
    msg["To"] = "support@example.test"
    msg["Subject"] = "Fwd: [업비트] 계정 보안 확인 요청"
    msg["Message-ID"] = "<phish-1@customer.test>"
    msg.set_content(
        "이 메일이 진짜 업비트에서 보낸 건가요? 링크를 누르기 전에 확인 부탁드립니다.\n\n"
        "---------- Forwarded message ---------\n"
        "From: 업비트 고객센터 <security@upbit-security.com>\n"
        "Subject: [업비트] 계정 보안 확인 요청\n\n"
        "고객님의 계정에서 비정상 로그인이 감지되었습니다. 아래 링크에서 본인 확인을 해주세요.\n"
        "https://upbit-security.com/verify?id=8812\n"
    )
    return msg.as_bytes()


def run_once(config: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "mailbot", "run", "--once", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env=None if env is None else {**os.environ, **env},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout + done.stderr


def test_a_seed_phrase_is_redacted_everywhere_warned_about_and_made_critical(
    tmp_path: Path, dovecot: Dovecot, smtp_receiver: SmtpReceiver, monkeypatch: MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILBOT_IMAP_PASSWORD", dovecot.password)
    key = new_key()
    config = write_config(tmp_path, dovecot, smtp_receiver, SECURITY)
    dovecot.append(korean_mail_with_seed())
    logs = run_once(config, {"MAILBOT_ARCHIVE_KEY": key})
    words = PHRASE.split()

    # The acknowledgement warns, in Korean, and repeats nothing of the phrase.
    [ack] = smtp_receiver.wait_for(1)
    body = message_from_bytes(ack.data, policy=policy.default).get_body(("plain",))
    text = body.get_content()  # type: ignore[union-attr]
    assert "[중요]" in text and "복구 문구" in text
    assert not any(w in text for w in words)

    # Stored: redacted, flagged, critical; the raw archive only as ciphertext.
    engine = make_engine(f"sqlite:///{tmp_path / 'mailbot.db'}")
    with Session(engine) as s:
        ticket = s.exec(select(Ticket)).one()
    assert ticket.urgency == "critical" and ticket.exposed == "recovery_phrase"
    doc = json.loads(cli(config, "tickets", "show", ticket.ref, "--format", "json"))
    shown = json.dumps(doc, ensure_ascii=False)  # Korean as Korean, not escaped
    assert "[redacted: recovery phrase]" in shown
    assert not any(w in shown for w in words)
    db = sqlite3.connect(tmp_path / "mailbot.db")
    raw, state = db.execute("SELECT raw, raw_state FROM inbox").fetchone()
    db.close()
    assert state == "fernet"
    opened = Archive(key.encode()).unseal(raw, state)
    assert opened is not None  # the IMAP server stores CRLF line ends
    assert opened.replace(b"\r\n", b"\n") == korean_mail_with_seed()
    assert not any(w.encode() in bytes(raw) for w in words)
    for leftover in tmp_path.glob("mailbot.db*"):  # the database, its WAL: no freed page keeps it
        assert not any(w.encode() in leftover.read_bytes() for w in words), leftover.name

    # Logged at DEBUG: not a word of it.
    assert "exposed recovery_phrase" in logs
    assert not any(w in logs for w in words)

    # The escalation digest, two hours later (first response due in one hour: critical).
    clock = FrozenClock(ticket.received_at + timedelta(hours=2))
    policy_ = EscalationPolicy(steps=(Step(1, timedelta(0), ("lead@example.test",)),))
    escalator = Escalator(
        Workflow(engine),
        EscalationConfig(policy_, Sender("support@example.test", "S", None)),
        clock,
    )
    assert escalator._scan() >= 1
    with Session(engine) as s:
        digests = s.exec(select(Outbox).where(col(Outbox.kind).startswith("esc-"))).all()
    assert digests
    for digest in digests:
        content = message_from_bytes(digest.raw, policy=policy.default).get_body(("plain",))
        lines = content.get_content()  # type: ignore[union-attr]
        assert "[redacted: recovery phrase]" in lines
        assert not any(w in lines for w in words)
    engine.dispose()


def test_a_forwarded_lookalike_gets_the_phishing_reply(
    tmp_path: Path, dovecot: Dovecot, smtp_receiver: SmtpReceiver, monkeypatch: MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILBOT_IMAP_PASSWORD", dovecot.password)
    config = write_config(tmp_path, dovecot, smtp_receiver, SECURITY)
    dovecot.append(forwarded_phishing())
    run_once(config)
    [ack] = smtp_receiver.wait_for(1)
    parsed = message_from_bytes(ack.data, policy=policy.default)
    assert "피싱" in str(parsed["Subject"])
    html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "upbit-security[.]com" in html and "upbit-security.com" not in html
    engine = make_engine(f"sqlite:///{tmp_path / 'mailbot.db'}")
    with Session(engine) as s:
        ticket = s.exec(select(Ticket)).one()
    engine.dispose()
    assert ticket.category == "security_incident"
    assert ticket.lookalikes == "upbit-security.com"
