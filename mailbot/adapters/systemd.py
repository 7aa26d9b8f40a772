"""systemd's notify protocol (sd_notify): READY=1, STATUS=, WATCHDOG=1, STOPPING=1.

One datagram per call to the AF_UNIX socket in $NOTIFY_SOCKET (a path, or '@name' in the
abstract namespace). Without $NOTIFY_SOCKET (not started by systemd as Type=notify) every call
does nothing. A failed send is logged and otherwise ignored: notifications are advisory, and a
daemon must never stop working because its supervisor went away.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import MutableMapping

log = logging.getLogger(__name__)

_ENV_KEYS = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


class Notifier:
    """Sends notify messages to systemd; a no-op when `address` is None."""

    def __init__(self, address: str | None, *, watchdog_usec: int | None = None) -> None:
        self._address = _socket_address(address) if address else None
        self._watchdog_usec = watchdog_usec
        self._sock: socket.socket | None = None

    @classmethod
    def from_environment(cls, environ: MutableMapping[str, str] | None = None) -> Notifier:
        """Read (and remove) $NOTIFY_SOCKET, $WATCHDOG_USEC, $WATCHDOG_PID.

        They are removed so that processes mailbot starts (an OAuth2 token command) do not
        inherit them and talk to systemd in mailbot's name, as sd_notify(unset_environment=1).
        """
        env = os.environ if environ is None else environ
        values = {key: env.pop(key, None) for key in _ENV_KEYS}
        usec = _watchdog_usec(values["WATCHDOG_USEC"], values["WATCHDOG_PID"])
        return cls(values["NOTIFY_SOCKET"] or None, watchdog_usec=usec)

    @property
    def enabled(self) -> bool:
        return self._address is not None

    @property
    def watchdog_interval(self) -> float | None:
        """Seconds between WATCHDOG=1 pings (half of WatchdogSec), or None when not asked for."""
        if self._address is None or not self._watchdog_usec:
            return None
        return self._watchdog_usec / 2_000_000

    def notify(self, *lines: str) -> bool:
        """Send `lines` ("KEY=value") as one datagram; False when not sent."""
        if self._address is None or not lines:
            return False
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.setblocking(False)  # never stall the event loop on a full queue
            self._sock.sendto("\n".join(lines).encode(), self._address)
        except OSError as exc:
            log.debug("sd_notify %s failed: %s", lines[0].split("=", 1)[0], exc)
            return False
        return True

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1", *([f"STATUS={_one_line(status)}"] if status else []))

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={_one_line(text)}")

    def reloading(self) -> bool:
        return self.notify("RELOADING=1")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()


def _socket_address(address: str) -> str | bytes:
    """'@name' is Linux's abstract namespace: a leading NUL byte instead of the '@'."""
    if address.startswith("@"):
        return b"\0" + address[1:].encode()
    return address


def _watchdog_usec(usec: str | None, pid: str | None) -> int | None:
    """$WATCHDOG_USEC, unless $WATCHDOG_PID says the pings are expected from another process."""
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value if value > 0 else None


def _one_line(text: str) -> str:
    return " ".join(text.split())
