"""SIGHUP re-reads the config (templates, model, policies, from_name, logging) without a restart
and without dropping in-flight work; a config that does not validate is refused and logged."""

from __future__ import annotations

import signal
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from mailbot.testing.servers import Dovecot, ReceivedMail, SmtpReceiver
from tests.conftest import daemon_logging_to, wait_for_log


def mail(n: int) -> bytes:
    return (
        f"From: Kim <kim{n}@customer.test>\r\nTo: support@example.test\r\n"
        f"Subject: API error {n}\r\nMessage-ID: <reload-{n}@customer.test>\r\n\r\n"
        f"Every signed request fails since today.\r\n"
    ).encode()


def sender_of(received: ReceivedMail) -> str:
    message = message_from_bytes(received.data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return str(message["From"])


def test_sighup_applies_a_new_from_name_and_refuses_an_invalid_config(
    tmp_path: Path, config: Path, dovecot: Dovecot, smtp_receiver: SmtpReceiver
) -> None:
    log = tmp_path / "daemon.log"
    original = config.read_text()
    with daemon_logging_to(config, log) as proc:
        wait_for_log(log, "ready:")
        dovecot.append(mail(1))
        assert "Example Exchange Support" in sender_of(smtp_receiver.wait_for(1, 30)[0])

        # Mail keeps arriving while the daemon reloads: none of it is lost or answered twice.
        config.write_text(
            original.replace("Example Exchange Support", "Night Shift Support")
            + '\n[logging]\nlevel = "WARNING"\n'
        )
        dovecot.append_many([mail(n) for n in range(2, 12)])
        proc.send_signal(signal.SIGHUP)
        done = wait_for_log(log, "configuration reloaded")
        acks = smtp_receiver.wait_for(11, 60)
        dovecot.append(mail(12))
        last = smtp_receiver.wait_for(12, 30)[-1]
        assert "Night Shift Support" in sender_of(last)
        assert sorted(a.rcpt_tos[0] for a in acks[1:11]) == sorted(
            f"kim{n}@customer.test" for n in range(2, 12)
        )
        assert "MB-000012" not in log.read_text()[done:]  # the new level: no INFO lines

        config.write_text(original + "\n[imap.oops]\n")  # not valid: an unknown key
        proc.send_signal(signal.SIGHUP)
        wait_for_log(log, "reload failed; still running with the previous configuration")
        assert "imap.oops" in log.read_text()
        dovecot.append(mail(13))
        after = smtp_receiver.wait_for(13, 30)[-1]
        assert proc.poll() is None
        assert "Night Shift Support" in sender_of(after)  # the last good config stays
    assert len(smtp_receiver.messages) == 13


def test_sighup_says_which_changes_need_a_restart(
    tmp_path: Path, config: Path, smtp_receiver: SmtpReceiver
) -> None:
    log = tmp_path / "daemon.log"
    with daemon_logging_to(config, log) as proc:
        wait_for_log(log, "ready:")
        config.write_text(config.read_text().replace("poll_interval = 0.2", "poll_interval = 5"))
        proc.send_signal(signal.SIGHUP)
        wait_for_log(log, "configuration reloaded")
        text = log.read_text()
    assert "imap / mailboxes changed: restart mailbot to apply it" in text
    assert "smtp server or login changed" not in text
