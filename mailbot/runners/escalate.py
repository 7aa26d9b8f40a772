"""Scheduled: open tickets past their promise -> escalation rows (each exactly once)."""

from __future__ import annotations

import asyncio
import logging

from mailbot.adapters.store import Store
from mailbot.clock import Clock
from mailbot.core.sla import overdue

log = logging.getLogger(__name__)


class Escalator:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def scan(self) -> int:
        """One pass; correctness comes from the unique (ticket, level, due_at) key."""
        return await asyncio.to_thread(self._scan)

    def _scan(self) -> int:
        now = self._clock.now()
        recorded = 0
        for esc in overdue(self._store.unanswered_open_tickets(now), now=now):
            if self._store.record_escalation(
                esc.ticket_id, esc.level, esc.due_at, esc.reason, now=now
            ):
                recorded += 1
                log.warning(
                    "ESCALATION ticket #%d level %d: %s", esc.ticket_id, esc.level, esc.reason
                )
        return recorded
