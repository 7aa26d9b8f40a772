"""A whole daemon run at DEBUG, in text and in JSON: the logs carry the mailbox, ticket ref and
Message-ID where known, and never a password or a word of a customer's message body."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from mailbot.testing.servers import Dovecot
from tests.conftest import SUPPORT, AuthSmtpReceiver, daemon_logging_to, wait_for_log, write_config

IMAP_PASSWORD = "imap-Pw-9f3kQ2"
SMTP_PASSWORD = "smtp-Pw-7hX4zL"
BODY = "Zebra-cobalt-4471 is my recovery hint, my withdrawal to 0xABC never arrived"
HTML_BODY = "Marigold-vortex-9902 appears only in the HTML part"

PLAIN = (
    "From: Kim <kim@customer.test>\r\nTo: support@example.test\r\nSubject: Withdrawal missing\r\n"
    f"Message-ID: <log-1@customer.test>\r\n\r\n{BODY}\r\n"
).encode()
HTML = (
    "From: Lee <lee@customer.test>\r\nTo: support@example.test\r\nSubject: Login problem\r\n"
    "Message-ID: <log-2@customer.test>\r\nMIME-Version: 1.0\r\n"
    'Content-Type: text/html; charset="utf-8"\r\n\r\n'
    f"<html><body><p>{HTML_BODY}</p></body></html>\r\n"
).encode()


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_debug_logs_name_the_message_but_hold_no_password_and_no_body(
    tmp_path: Path, fmt: str
) -> None:
    log = tmp_path / "daemon.log"
    with (
        Dovecot(tmp_path / "dovecot", user=SUPPORT, password=IMAP_PASSWORD) as dovecot,
        AuthSmtpReceiver(SUPPORT, SMTP_PASSWORD) as smtp,
    ):
        config = write_config(
            tmp_path, dovecot, smtp, f'[logging]\nlevel = "DEBUG"\nformat = "{fmt}"\n'
        )
        config.write_text(
            config.read_text().replace("[smtp]\n", f'[smtp]\nusername = "{SUPPORT}"\n')
        )
        env = {"MAILBOT_IMAP_PASSWORD": IMAP_PASSWORD, "MAILBOT_SMTP_PASSWORD": SMTP_PASSWORD}
        with daemon_logging_to(config, log, env) as proc:
            wait_for_log(log, "ready")
            dovecot.append(PLAIN)
            dovecot.append(HTML)
            smtp.wait_for(2, timeout=30)
            proc.send_signal(signal.SIGHUP)  # the reload path logs settings too
            wait_for_log(log, "configuration reloaded")
    text = log.read_text()
    for secret in (IMAP_PASSWORD, SMTP_PASSWORD, "Zebra-cobalt", "Marigold-vortex", "0xABC"):
        assert secret not in text, secret
    if fmt == "json":
        lines = [json.loads(line) for line in text.splitlines()]
        assert all({"ts", "level", "logger", "message"} <= line.keys() for line in lines)
        assert all(line["ts"].endswith("Z") for line in lines)
        sent = [line for line in lines if line["message"].startswith("outbox #")]
        assert {line["ref"] for line in sent} == {"MB-000001", "MB-000002"}
        assert all(line["message_id"].startswith(f"<{line['ref']}.ack.") for line in sent)
        assert any(line.get("mailbox") == f"{SUPPORT}@127.0.0.1/INBOX" for line in lines)
    else:
        assert "ref=MB-000001 message_id=<MB-000001.ack." in text
        assert f"[mailbox={SUPPORT}@127.0.0.1/INBOX]" in text
