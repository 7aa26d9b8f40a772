"""The daemon and CLI as an operator runs them: signals, exit codes, init, version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from mailbot import __version__
from mailbot.testing.servers import Dovecot, SmtpReceiver, free_port
from tests.conftest import running_daemon, write_config

MAIL = (
    b"From: Kim <kim@customer.test>\r\nTo: support@example.test\r\nSubject: API error -1022\r\n"
    b"Message-ID: <daemon-1@customer.test>\r\n\r\nEvery signed request fails since today.\r\n"
)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailbot", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_daemon_acknowledges_new_mail_and_stops_cleanly_on_sigterm(
    config: Path, dovecot: Dovecot, smtp_receiver: SmtpReceiver
) -> None:
    with running_daemon(config) as daemon:
        time.sleep(1.0)  # mail arriving while the daemon already runs
        dovecot.append(MAIL)
        ack = smtp_receiver.wait_for(1, timeout=30)[0]
        assert ack.rcpt_tos == ["kim@customer.test"]
    assert "stopped" in daemon.stderr
    assert "imap-secret" not in daemon.stderr  # the password is never logged
    # A clean stop folds the sent journal into the database and leaves the journal empty.
    assert _outbox_statuses(config) == ["sent"]
    assert (config.parent / "mailbot.db-sent").read_bytes() == b""


def test_once_records_what_it_sent_in_the_database_before_it_exits(
    config: Path, dovecot: Dovecot, smtp_receiver: SmtpReceiver
) -> None:
    dovecot.append(MAIL)
    done = cli("run", "--once", "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert len(smtp_receiver.wait_for(1, timeout=10)) == 1
    assert _outbox_statuses(config) == ["sent"]
    assert (config.parent / "mailbot.db-sent").read_bytes() == b""
    again = cli("run", "--once", "--config", str(config))
    assert again.returncode == 0, again.stderr
    time.sleep(0.5)
    assert len(smtp_receiver.messages) == 1  # nothing sent twice


def _outbox_statuses(config: Path) -> list[str]:
    shown = cli("tickets", "show", "MB-000001", "--config", str(config), "--format", "json")
    assert shown.returncode == 0, shown.stderr
    return [o["status"] for o in json.loads(shown.stdout)["outbox"]]


def test_once_with_imap_unreachable_exits_1_with_one_clear_line(
    tmp_path: Path, smtp_receiver: SmtpReceiver
) -> None:
    class Nowhere:
        host, port, user = "127.0.0.1", free_port(), "support@example.test"

    path = write_config(tmp_path, Nowhere, smtp_receiver)  # type: ignore[arg-type]
    done = cli("run", "--once", "--config", str(path))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"IMAP 127.0.0.1:{Nowhere.port}" in done.stderr


def test_once_with_smtp_down_keeps_the_ack_queued_and_exits_1(
    tmp_path: Path, dovecot: Dovecot
) -> None:
    class DeadSmtp:
        host, port = "127.0.0.1", free_port()

    path = write_config(tmp_path, dovecot, DeadSmtp)  # type: ignore[arg-type]
    env = os.environ | {"MAILBOT_IMAP_PASSWORD": dovecot.password}
    dovecot.append(MAIL)
    done = cli("run", "--once", "--config", str(path), env=env)
    assert done.returncode == 1
    assert "not delivered yet" in done.stderr
    shown = json.loads(
        cli("tickets", "show", "MB-000001", "--config", str(path), "--format", "json").stdout
    )
    assert [o["status"] for o in shown["outbox"]] == ["pending"]
    assert shown["outbox"][0]["attempts"] == 1


def test_init_writes_a_config_and_database_and_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "etc"
    done = cli("init", str(target))
    assert done.returncode == 0, done.stderr
    assert (target / "mailbot.toml").is_file()
    assert (target / "state" / "mailbot.db").is_file()
    listed = cli("tickets", "list", "--format", "json", "--config", str(target / "mailbot.toml"))
    assert listed.returncode == 0 and json.loads(listed.stdout) == []
    again = cli("init", str(target))
    assert again.returncode == 2 and "already exists" in again.stderr


def test_version_unknown_ticket_and_missing_database(tmp_path: Path) -> None:
    done = cli("--version")
    assert done.returncode == 0 and __version__ in done.stdout
    usage = cli("tickets", "frobnicate")
    assert usage.returncode == 2
    assert cli("init", str(tmp_path / "etc")).returncode == 0
    config = tmp_path / "etc" / "mailbot.toml"
    unknown = cli("tickets", "show", "MB-999999", "--config", str(config))
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "mailbot: no ticket MB-999999"
    text = config.read_text().replace(
        "[database]", f'[database]\nurl = "sqlite:///{tmp_path}/nope/x.db"'
    )
    config.write_text(text)
    missing = cli("tickets", "list", "--config", str(config))
    assert missing.returncode == 1 and "no database at" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert not (tmp_path / "nope").exists()


def test_a_second_run_on_the_same_state_refuses_to_start(
    config: Path, dovecot: Dovecot, smtp_receiver: SmtpReceiver
) -> None:
    with running_daemon(config):
        dovecot.append(MAIL)
        smtp_receiver.wait_for(1, timeout=30)  # the daemon is up and holds the lock
        second = cli("run", "--once", "--config", str(config))
        assert second.returncode == 1
        assert "another mailbot run" in second.stderr
    assert cli("run", "--once", "--config", str(config)).returncode == 0  # lock released
    assert len(smtp_receiver.messages) == 1
