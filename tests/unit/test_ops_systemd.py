"""The sd_notify client: datagrams to a path or abstract socket, nothing without NOTIFY_SOCKET."""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import time
import uuid
from pathlib import Path

from mailbot.adapters.systemd import Notifier
from mailbot.runners.supervise import watchdog_loop


def _receive(sock: socket.socket) -> str:
    sock.settimeout(2)
    return sock.recv(4096).decode()


def test_a_path_socket_gets_one_datagram_per_call(tmp_path: Path) -> None:
    path = tmp_path / "n.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        notifier = Notifier(str(path))
        assert notifier.ready("ready")
        assert _receive(sock) == "READY=1\nSTATUS=ready"
        assert notifier.status("two\nlines")  # STATUS is one line
        assert _receive(sock) == "STATUS=two lines"
        assert notifier.stopping()
        assert _receive(sock) == "STOPPING=1"
        notifier.close()


def test_an_abstract_socket_is_written_with_a_leading_nul() -> None:
    name = f"mailbot-unit-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        notifier = Notifier(f"@{name}")
        assert notifier.watchdog()
        assert _receive(sock) == "WATCHDOG=1"
        notifier.close()


def test_without_notify_socket_nothing_is_sent_and_a_gone_socket_is_no_error(
    tmp_path: Path,
) -> None:
    quiet = Notifier.from_environment({})
    assert not quiet.enabled and not quiet.ready() and quiet.watchdog_interval is None
    gone = Notifier(str(tmp_path / "nobody-listens"))
    assert gone.enabled and not gone.ready()  # logged at DEBUG, never raised
    gone.close()


def test_environment_is_consumed_and_watchdog_pid_is_respected() -> None:
    env = {"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}
    notifier = Notifier.from_environment(env)
    assert env == {}  # children (a token command) do not inherit them
    assert notifier.watchdog_interval == 15.0
    other = {"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}
    assert Notifier.from_environment(other).watchdog_interval is None
    junk = Notifier.from_environment({"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "junk"})
    assert junk.watchdog_interval is None


class RecordingNotifier(Notifier):
    def __init__(self) -> None:
        super().__init__(None)
        self.pings: list[float] = []

    def watchdog(self) -> bool:
        self.pings.append(time.monotonic())
        return True


def test_a_blocked_event_loop_sends_no_pings() -> None:
    """The pings come from the event loop, so a loop stuck in a blocking call goes quiet."""
    notifier = RecordingNotifier()

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(watchdog_loop(notifier, 0.05, stop))
        await asyncio.sleep(0.3)
        time.sleep(0.6)  # a blocking call on the loop: nothing can ping meanwhile
        await asyncio.sleep(0.3)
        stop.set()
        await task

    asyncio.run(scenario())
    gaps = sorted(b - a for a, b in itertools.pairwise(notifier.pings))
    assert gaps[-1] >= 0.6  # the blocked stretch
    assert gaps[-2] < 0.3  # otherwise every 0.05 s (with slack for a busy machine)
    assert len(notifier.pings) >= 8
