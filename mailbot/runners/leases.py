"""Leases that let several `mailbot run` instances share one database and the same mailboxes.

Each job only one instance may do at a time (ingesting a mailbox, processing, the escalation
scan) is a named lease in the database, held until an expiry that the holder keeps pushing
forward. An instance that dies (even by SIGKILL) stops renewing, and another takes the job
over once the lease expires: within `ttl` plus the loser's retry interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import uuid
from datetime import timedelta

from mailbot.adapters.store import Store
from mailbot.clock import Clock
from mailbot.errors import TransientError
from mailbot.runners.supervise import Outage

log = logging.getLogger(__name__)


def instance_name() -> str:
    """Unique per process: host, pid and a random part (pids are reused across restarts)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_gone(holder: str, *, me: str) -> bool:
    """Whether `holder` (an instance_name()) was a process on this host that has ended.

    Its leases and outbox claims are then free at once: a daemon restarted after a crash
    (systemd, kill -9) resumes at once instead of waiting for them to expire. Instances on
    other hosts, or a pid now used by another process, are only known gone by expiry.
    `me` is the asking instance's own name.
    """
    host, _, rest = holder.partition(":")
    pid_text, _, _ = rest.partition(":")
    if holder == me or host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid <= 0:
        return False
    if pid == os.getpid():  # our pid under another name: a predecessor (a container's pid 1)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


class LeaseKeeper:
    def __init__(
        self, store: Store, clock: Clock, *, holder: str, ttl: timedelta = timedelta(seconds=15)
    ) -> None:
        self._store = store
        self._clock = clock
        self.holder = holder
        self.ttl = ttl
        self._held: set[str] = set()
        self._gone = functools.partial(holder_gone, me=holder)
        self._database = Outage("database (leases)")

    def holds(self, name: str) -> bool:
        return name in self._held

    async def hold(self, name: str) -> bool:
        """Take or renew `name` now; False while another instance holds it (or the database
        cannot say: doing the job without knowing is what leases exist to prevent)."""
        try:
            ok = await asyncio.to_thread(
                self._store.acquire_lease,
                name,
                self.holder,
                now=self._clock.now(),
                ttl=self.ttl,
                gone=self._gone,
            )
            self._database.ok()
        except TransientError as exc:
            # Said once per outage: silently standing by would hide a locked or full database.
            self._database.failed(str(exc))
            ok = False
        if ok and name not in self._held:
            log.info("lease %s taken by %s", name, self.holder)
        elif not ok and name in self._held:
            log.warning("lease %s lost by %s", name, self.holder)
        (self._held.add if ok else self._held.discard)(name)
        return ok

    async def ensure(self, name: str) -> bool:
        """True when this instance holds `name`, asking the database only when it does not:
        held leases are kept fresh by renew_forever, so a loop may call this at every wake
        without a database write each time."""
        return self.holds(name) or await self.hold(name)

    async def renew_forever(self, stop: asyncio.Event) -> None:
        """Push every held lease forward every third of its lifetime."""
        interval = self.ttl.total_seconds() / 3
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
            for name in sorted(self._held):
                await self.hold(name)

    async def release_all(self) -> None:
        """On a clean stop: let the others take over at once instead of at expiry."""
        for name in sorted(self._held):
            with contextlib.suppress(TransientError):
                await asyncio.to_thread(self._store.release_lease, name, self.holder)
        self._held.clear()
