"""systemd's notify protocol as the real daemon speaks it: READY=1 only once the servers were
reached, WATCHDOG=1 pings at half of WATCHDOG_USEC, STATUS= lines, STOPPING=1 on SIGTERM."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailbot.testing.servers import Dovecot, SmtpReceiver
from tests.conftest import daemon_logging_to, wait_for_log

WATCHDOG_USEC = 1_000_000  # pings expected every 0.5 s


class Listener:
    """What systemd does: an AF_UNIX datagram socket that records (time, fields) per message."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.messages: list[tuple[float, dict[str, str]]] = []

    def collect(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines())
            self.messages.append((time.monotonic(), fields))

    def wait_for(self, key: str, value: str | None = None, timeout: float = 30.0) -> float:
        """Receive until a message carries `key` (= `value`); when it arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for at, fields in self.messages:
                if key in fields and value in (None, fields[key]):
                    return at
            self.collect(min(0.2, deadline - time.monotonic()))
        raise AssertionError(f"no {key}={value} within {timeout}s: {self.messages}")

    def times(self, key: str) -> list[float]:
        return [at for at, fields in self.messages if key in fields]

    def statuses(self) -> list[str]:
        return [fields["STATUS"] for _, fields in self.messages if "STATUS" in fields]


@pytest.fixture
def notify_socket() -> Iterator[tuple[str, Listener]]:
    """A socket in the abstract namespace ('@name', as systemd's own is not)."""
    name = f"mailbot-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    yield f"@{name}", Listener(sock)
    sock.close()


def test_ready_only_after_the_servers_answer_then_watchdog_pings_then_stopping(
    tmp_path: Path,
    config: Path,
    dovecot: Dovecot,
    smtp_receiver: SmtpReceiver,
    notify_socket: tuple[str, Listener],
) -> None:
    address, listener = notify_socket
    env = {"NOTIFY_SOCKET": address, "WATCHDOG_USEC": str(WATCHDOG_USEC)}
    dovecot.stop()  # IMAP down at start: the daemon runs, but is not ready
    log = tmp_path / "daemon.log"
    with daemon_logging_to(config, log, env) as proc:
        listener.wait_for("WATCHDOG", "1")  # started (imports and the model take a while)
        listener.collect(3.0)
        assert listener.times("READY") == []
        assert any("waiting for IMAP" in s for s in listener.statuses()), listener.messages
        assert len(listener.times("WATCHDOG")) >= 5  # pings do not wait for readiness

        imap_back_at = time.monotonic()
        dovecot.start()
        ready_at = listener.wait_for("READY", "1")
        assert ready_at > imap_back_at
        wait_for_log(log, "ready: every mailbox and server was reached once")
        listener.collect(2.5)
        pings = [t for t in listener.times("WATCHDOG") if t > ready_at]
        assert len(pings) >= 4, pings
        gaps = [b - a for a, b in itertools.pairwise(pings)]
        assert max(gaps) < 0.9, gaps  # every WATCHDOG_USEC / 2 = 0.5 s, with slack
        assert any(s.startswith("ingesting 1 mailbox") for s in listener.statuses())

        proc.send_signal(signal.SIGTERM)
        stopping_at = listener.wait_for("STOPPING", "1", timeout=15)
        proc.wait(timeout=30)
    assert stopping_at > ready_at
    assert "NOTIFY_SOCKET" not in os.environ  # the test's own environment is untouched


def test_ready_is_not_sent_while_smtp_is_down(
    tmp_path: Path, config: Path, smtp_receiver: SmtpReceiver, notify_socket: tuple[str, Listener]
) -> None:
    address, listener = notify_socket
    smtp_receiver.stop()
    log = tmp_path / "daemon.log"
    with daemon_logging_to(config, log, {"NOTIFY_SOCKET": address}):
        wait_for_log(log, "SMTP unavailable")
        listener.collect(2.0)
        assert listener.times("READY") == []
        assert listener.times("WATCHDOG") == []  # not asked for: no WATCHDOG_USEC
        assert any("SMTP" in s for s in listener.statuses()), listener.statuses()
        smtp_receiver.start()
        listener.wait_for("READY", "1")
