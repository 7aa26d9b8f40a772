"""`mailbot doctor` against the real Dovecot and SMTP receivers: every check one line, a fix for
each failure, exit 0 only when all pass, and no password on screen."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mailbot.cli.doctor import CheckFailed, database
from mailbot.testing.servers import Dovecot, SmtpReceiver, free_port
from tests.conftest import SUPPORT, AuthSmtpReceiver, write_config

CHECKS = ["config", "state dir", "database", f"imap {SUPPORT}@127.0.0.1/INBOX", "smtp"]


def doctor(config: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailbot", "doctor", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | env,
    )


def lines_by_check(out: str) -> dict[str, str]:
    return {line[5:].split(":", 1)[0]: line for line in out.splitlines()}


def init_database(config: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mailbot", "run", "--once", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | {"MAILBOT_IMAP_PASSWORD": "imap-secret"},
    )
    assert done.returncode == 0, done.stderr


def test_all_checks_pass_against_the_real_servers(
    tmp_path: Path, dovecot: Dovecot, smtp_receiver: SmtpReceiver
) -> None:
    config = write_config(tmp_path, dovecot, smtp_receiver)
    init_database(config)
    done = doctor(config, MAILBOT_IMAP_PASSWORD=dovecot.password)
    assert done.returncode == 0, done.stdout + done.stderr
    checks = lines_by_check(done.stdout)
    assert list(checks) == [*CHECKS, "templates", "model"]
    assert all(line.startswith("ok   ") for line in checks.values()), done.stdout
    assert "selected (UIDVALIDITY" in checks[CHECKS[3]]
    assert "default-" in checks["model"] or "default" in checks["model"]
    assert dovecot.password not in done.stdout + done.stderr
    assert smtp_receiver.messages == []  # connected and said EHLO, sent nothing


def test_a_wrong_imap_password_and_a_closed_smtp_port_fail_with_a_fix(
    tmp_path: Path, dovecot: Dovecot
) -> None:
    class ClosedSmtp:
        host, port = "127.0.0.1", free_port()

    config = write_config(tmp_path, dovecot, ClosedSmtp)  # type: ignore[arg-type]
    wrong = "not-the-password-123"
    done = doctor(config, MAILBOT_IMAP_PASSWORD=wrong)
    assert done.returncode == 1
    checks = lines_by_check(done.stdout)
    imap = checks[CHECKS[3]]
    assert imap.startswith("FAIL ") and "login" in imap and "AUTHENTICATIONFAILED" in imap
    assert "fix: check imap.username and the password (MAILBOT_IMAP_PASSWORD" in imap
    smtp = checks["smtp"]
    assert smtp.startswith("FAIL ") and f"127.0.0.1:{ClosedSmtp.port}" in smtp
    assert "fix: check smtp.host, smtp.port and smtp.tls" in smtp
    assert checks["database"].startswith("ok   ") and "does not exist yet" in checks["database"]
    assert checks["model"].startswith("ok   ")  # the shipped default, without a database
    assert checks["config"].startswith("ok   ")
    assert wrong not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_smtp_login_is_checked_and_a_wrong_password_is_named(tmp_path: Path) -> None:
    with (
        Dovecot(tmp_path / "dovecot", user=SUPPORT, password="imap-secret") as dovecot,
        AuthSmtpReceiver(SUPPORT, "smtp-secret-1") as smtp,
    ):
        config = write_config(tmp_path, dovecot, smtp)
        config.write_text(
            config.read_text().replace("[smtp]\n", f'[smtp]\nusername = "{SUPPORT}"\n')
        )
        init_database(config)
        good = doctor(
            config, MAILBOT_IMAP_PASSWORD="imap-secret", MAILBOT_SMTP_PASSWORD="smtp-secret-1"
        )
        assert good.returncode == 0, good.stdout
        assert f"logged in as {SUPPORT}" in lines_by_check(good.stdout)["smtp"]
        bad = doctor(config, MAILBOT_IMAP_PASSWORD="imap-secret", MAILBOT_SMTP_PASSWORD="nope-nope")
    assert bad.returncode == 1
    smtp_line = lines_by_check(bad.stdout)["smtp"]
    assert smtp_line.startswith("FAIL smtp:") and "refused" in smtp_line
    assert "fix: check smtp.username and the password (MAILBOT_SMTP_PASSWORD" in smtp_line
    assert "nope-nope" not in bad.stdout


def test_an_invalid_config_is_one_failing_line(tmp_path: Path) -> None:
    config = tmp_path / "mailbot.toml"
    config.write_text('[imap]\nhost = "x"\n')
    done = doctor(config)
    assert done.returncode == 1
    assert done.stdout.startswith("FAIL config: ") and "fix: edit" in done.stdout
    assert len(done.stdout.splitlines()) == 1


def test_a_database_behind_the_code_is_named_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    sqlite3.connect(path).close()  # exists, but no migration ever ran
    with pytest.raises(CheckFailed) as failed:
        database(f"sqlite:///{path}")
    assert "schema at revision (empty), the newest is" in str(failed.value)
    assert "mailbot run" in failed.value.fix
