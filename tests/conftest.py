"""Shared fixtures: real Dovecot and a real SMTP receiver on loopback, and a config for them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from mailbot.adapters.db import make_engine, migrate
from mailbot.adapters.store import Store
from mailbot.testing.servers import Dovecot, SmtpReceiver, _SinkHandler

SUPPORT = "support@example.test"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A store on a fresh, migrated SQLite database."""
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    yield Store(engine)
    engine.dispose()


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    with Dovecot(tmp_path / "dovecot", user=SUPPORT, password="imap-secret") as server:
        yield server


@pytest.fixture
def smtp_receiver() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


@dataclass
class RunningDaemon:
    proc: subprocess.Popen[str]
    stderr: str = ""  # filled in when the daemon has stopped


@contextmanager
def running_daemon(config: Path, password: str | None = None) -> Iterator[RunningDaemon]:
    """`mailbot run` as a subprocess; SIGTERM on exit, which must end it with exit code 0."""
    env = os.environ | ({"MAILBOT_IMAP_PASSWORD": password} if password else {})
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailbot", "run", "--config", str(config)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    daemon = RunningDaemon(proc)
    try:
        yield daemon
    finally:
        proc.send_signal(signal.SIGTERM)
        _, daemon.stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, daemon.stderr[-3000:]


def write_config(directory: Path, dovecot: Dovecot, smtp: SmtpReceiver, extra: str = "") -> Path:
    """A config pointing at the test servers (plain on loopback, as a local test setup would)."""
    path = directory / "mailbot.toml"
    path.write_text(
        f"""
[imap]
host = "{dovecot.host}"
port = {dovecot.port}
username = "{dovecot.user}"
tls = "none"
poll_interval = 0.2

[smtp]
host = "{smtp.host}"
port = {smtp.port}
tls = "none"
from_address = "{SUPPORT}"
from_name = "Example Exchange Support"

[database]
url = "sqlite:///{directory / "mailbot.db"}"
{extra}
""",
        encoding="utf-8",
    )
    return path


def write_offline_config(directory: Path, extra: str = "") -> Path:
    """A config whose servers are unreachable (port 1): for what a daemon builds before it
    connects. `extra` is appended (whole TOML tables)."""
    path = directory / "mailbot.toml"
    path.write_text(
        f"""
[imap]
host = "127.0.0.1"
port = 1
username = "support@example.test"
password = "x"
tls = "none"

[smtp]
host = "127.0.0.1"
port = 1
tls = "none"
from_address = "support@example.test"

[paths]
state_dir = "{directory / "state"}"
{extra}
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def config(
    tmp_path: Path, dovecot: Dovecot, smtp_receiver: SmtpReceiver, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setenv("MAILBOT_IMAP_PASSWORD", dovecot.password)
    return write_config(tmp_path, dovecot, smtp_receiver)


@contextmanager
def daemon_logging_to(
    config: Path, log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`mailbot run` with stderr in `log`, readable while it runs (see `wait_for_log`).

    `env` is added to the environment. SIGTERM on exit, which must end it with exit code 0.
    """
    with log.open("ab") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mailbot", "run", "--config", str(config)],
            env=os.environ | (env or {}),
            stderr=sink,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0, log.read_text(errors="replace")[-3000:]


def wait_for_log(log: Path, text: str, timeout: float = 30.0, *, after: int = 0) -> int:
    """Block until `text` appears in `log` past offset `after`; its end offset."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = log.read_text(errors="replace")
        found = content.find(text, after)
        if found >= 0:
            return found + len(text)
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not logged within {timeout}s:\n{log.read_text()[-3000:]}")


class AuthSmtpReceiver(SmtpReceiver):
    """The SMTP receiver, but it offers AUTH (PLAIN/LOGIN, over plain loopback) and accepts
    only `user` with `password`."""

    def __init__(self, user: str, password: str) -> None:
        super().__init__()
        self.user, self.password = user, password

    def start(self) -> None:
        def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
            ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
                self.user.encode(),
                self.password.encode(),
            )
            return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535

        controller = Controller(
            _SinkHandler(self),
            hostname=self.host,
            port=self.port,
            server_hostname="smtp.mailbot.test",
            authenticator=check,
            auth_require_tls=False,
        )
        controller.start()
        self._controller = controller
