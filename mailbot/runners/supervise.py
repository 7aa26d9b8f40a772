"""Daemon hygiene shared by the loops: readiness, outages with backoff, watchdog, status.

What systemd is told (READY=1 once every server was reached, WATCHDOG=1 from the event loop,
STATUS=) comes from here; app.py wires it to the loops.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterable

from mailbot.adapters.systemd import Notifier
from mailbot.settings import Settings

log = logging.getLogger(__name__)

STATUS_EVERY = 30.0  # seconds between STATUS= updates (and at once when something changes)


class Health:
    """What the daemon still waits for before READY=1, and what is unavailable right now."""

    def __init__(self, notifier: Notifier, waiting: Iterable[str]) -> None:
        self.notifier = notifier
        self.waiting = dict.fromkeys(waiting)  # an ordered set
        self.ready = False
        self.down: set[str] = set()
        self.changed = asyncio.Event()

    def passed(self, name: str) -> None:
        """`name` (an IMAP mailbox, SMTP...) worked once; READY=1 when nothing is left."""
        if name in self.waiting:
            del self.waiting[name]
            if not self.waiting:
                self.ready = True
                log.info("ready: every mailbox and server was reached once")
                self.notifier.ready("ready")
            self.changed.set()

    def set_down(self, name: str, down: bool) -> None:
        (self.down.add if down else self.down.discard)(name)
        self.changed.set()

    def starting_line(self) -> str:
        return f"starting: waiting for {', '.join(self.waiting)}{self.down_suffix()}"

    def down_suffix(self) -> str:
        return f"; unavailable: {', '.join(sorted(self.down))}" if self.down else ""


class Outage:
    """Says once that a server is gone and once that it is back; backs off in between."""

    def __init__(self, what: str, health: Health | None = None) -> None:
        self._what = what
        self._health = health
        self._failures = 0

    def failed(self, error: str) -> float:
        if self._failures == 0:
            log.error("%s unavailable, retrying with backoff: %s", self._what, error)
            if self._health is not None:
                self._health.set_down(self._what, True)
        self._failures += 1
        # Exponential backoff with jitter, so mailboxes on one server do not retry in lock-step.
        return min(2.0**self._failures, 300.0) * random.uniform(0.5, 1.0)

    def ok(self) -> None:
        if self._failures:
            log.warning("%s reachable again after %d failed attempt(s)", self._what, self._failures)
            if self._health is not None:
                self._health.set_down(self._what, False)
        self._failures = 0


async def sleep_unless(
    stop: asyncio.Event, seconds: float, wake: asyncio.Event | None = None
) -> None:
    """Sleep `seconds`, or less when `stop` (or `wake`) is set."""
    waiters = [asyncio.create_task(stop.wait())]
    if wake is not None:
        waiters.append(asyncio.create_task(wake.wait()))
    _done, pending = await asyncio.wait(
        waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
    )
    for task in pending:
        task.cancel()


async def watchdog_loop(notifier: Notifier, interval: float, stop: asyncio.Event) -> None:
    """Pings from the event loop itself: a blocked loop stops them and systemd restarts us."""
    while not stop.is_set():
        notifier.watchdog()
        await sleep_unless(stop, interval)


async def status_loop(
    health: Health, line: Callable[[], Awaitable[str]], stop: asyncio.Event
) -> None:
    """STATUS= every STATUS_EVERY seconds, and at once when readiness or an outage changes."""
    while not stop.is_set():
        health.changed.clear()
        health.notifier.status(await line() if health.ready else health.starting_line())
        await sleep_unless(stop, STATUS_EVERY, health.changed)


async def check_loop(
    name: str, check: Callable[[], Awaitable[object]], stop: asyncio.Event, health: Health
) -> None:
    """Run a start-up check until it passes once (with backoff), then report it passed."""
    outage = Outage(name, health)
    while not stop.is_set():
        try:
            await check()
        except Exception as exc:  # any failure means "not yet"; it is logged once per outage
            await sleep_unless(stop, outage.failed(str(exc) or repr(exc)))
            continue
        outage.ok()
        health.passed(name)
        return


_CONNECTION_KEYS = {"host", "port", "username", "password", "tls", "ca_file", "allow_insecure"}


def restart_needed(old: Settings, new: Settings) -> list[str]:
    """The settings that differ and that only a restart applies (connections, storage)."""
    keys = _CONNECTION_KEYS | {"timeout"}
    pairs: dict[str, tuple[object, object]] = {
        "imap / mailboxes": (old.effective_mailboxes(), new.effective_mailboxes()),
        "smtp server or login": (
            old.smtp.model_dump(include=keys),
            new.smtp.model_dump(include=keys),
        ),
        "smtp.connections": (old.smtp.connections, new.smtp.connections),
        "database.url": (old.database_url, new.database_url),
        "paths.state_dir": (old.state_dir, new.state_dir),
        "tickets.ref_prefix": (old.tickets.ref_prefix, new.tickets.ref_prefix),
    }
    return [what for what, (before, after) in pairs.items() if before != after]
