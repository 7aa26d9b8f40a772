"""Scheduled: tickets whose next escalation check is due -> escalation rows, digests, webhooks.

Correctness lives in the database, not the scheduler: the scan is a function of `now`; each
event is a row unique on (ticket, target, level, due), recorded with its digest in the outbox
in one transaction, so restarts and overlapping scans neither lose nor repeat one. Webhooks
are delivered after the commit and retried by later scans until they succeed (at least once).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import urllib.request
from dataclasses import dataclass

from mailbot.adapters.workflow import PendingWebhook, Workflow
from mailbot.clock import Clock
from mailbot.core.escalation import EscalationPolicy, Event, plan
from mailbot.core.render import DigestFacts, Sender, render_digest
from mailbot.domain import OutgoingMail

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EscalationConfig:
    policy: EscalationPolicy
    sender: Sender
    webhook_timeout: float = 10.0
    batch: int = 500


class Escalator:
    def __init__(self, workflow: Workflow, config: EscalationConfig, clock: Clock) -> None:
        self._workflow = workflow
        self._cfg = config
        self._clock = clock
        # Set on shutdown: a scan runs in a worker thread, which the daemon's exit waits for.
        self.stopping = threading.Event()

    async def scan(self) -> int:
        """One pass over every due ticket; then the webhooks still owed. Returns events."""
        recorded = await asyncio.to_thread(self._scan)
        await asyncio.to_thread(self._deliver_webhooks)
        return recorded

    def _scan(self) -> int:
        now = self._clock.now()
        recorded = 0
        while batch := self._workflow.due_for_escalation(now, self._cfg.batch):
            for ticket in batch:
                if self.stopping.is_set():
                    return recorded  # the rest stay due; the next scan does them
                events, next_at = plan(ticket, self._cfg.policy, now)
                fresh = self._workflow.record_escalations(
                    ticket.ticket_id,
                    events,
                    next_at,
                    now=now,
                    digest=self._digest,
                    webhook=lambda e: self._cfg.policy.recipients(e.level)[1],
                )
                for event in fresh:
                    log.warning("ESCALATION ticket #%d %s", event.ticket_id, event.describe(now))
                recorded += len(fresh)
            if len(batch) < self._cfg.batch:
                break
        return recorded

    def _digest(self, event: Event, facts: DigestFacts, seq: int) -> OutgoingMail | None:
        recipients, _ = self._cfg.policy.recipients(event.level)
        if not recipients:
            return None
        return render_digest(
            facts,
            headline=event.describe(self._clock.now()),
            level=event.level,
            target=event.target,
            sender=self._cfg.sender,
            recipients=recipients,
            seq=seq,
            now=self._clock.now(),
        )

    def _deliver_webhooks(self) -> None:
        for hook in self._workflow.pending_webhooks():
            error = self._post(hook)
            self._workflow.mark_webhook(hook.id, error=error, now=self._clock.now())
            if error:
                log.warning("escalation webhook #%d failed, will retry: %s", hook.id, error)

    def _post(self, hook: PendingWebhook) -> str:
        request = urllib.request.Request(
            hook.url,
            data=json.dumps(hook.payload).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "mailbot"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self._cfg.webhook_timeout) as response:
                status = int(response.status)
        except OSError as exc:  # URLError, HTTPError, timeouts: all OSError
            return f"{exc.__class__.__name__}: {exc}"
        return "" if 200 <= status < 300 else f"HTTP {status}"
