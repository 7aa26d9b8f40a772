"""Outbox rows -> SMTP -> sent | retry later | dead. At-least-once; see docs/delivery.md."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from mailbot.adapters.smtp import SmtpSender
from mailbot.adapters.store import DueOutbox, Store
from mailbot.clock import Clock
from mailbot.domain import OutgoingMail
from mailbot.errors import PermanentError, TransientError

log = logging.getLogger(__name__)

RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: 30 s, 1 min, 2 min ... capped at an hour."""
    delay: timedelta = RETRY_BASE * (2 ** min(attempts, 16))
    return min(delay, RETRY_CAP)


class OutboxSender:
    def __init__(self, store: Store, smtp: SmtpSender, clock: Clock) -> None:
        self._store = store
        self._smtp = smtp
        self._clock = clock
        self.last_error: str = ""

    async def drain_once(self, limit: int = 100) -> tuple[int, int]:
        """Send what is due. Returns (sent, failed); stops early while the server is down."""
        rows = await asyncio.to_thread(self._store.due_outbox, self._clock.now(), limit)
        sent = failed = 0
        for row in rows:
            ok = await self._send_one(row)
            sent += ok
            failed += not ok
            if not ok and self.last_error.startswith("transient"):
                break  # the server is unreachable or busy: do not hammer it
        return sent, failed

    async def _send_one(self, row: DueOutbox) -> bool:
        mail = OutgoingMail(row.message_id, row.sender, row.recipients, row.raw)
        try:
            await self._smtp.send(mail)
        except TransientError as exc:
            self.last_error = f"transient: {exc}"
            next_at = self._clock.now() + retry_delay(row.attempts)
            log.warning(
                "outbox #%d %s: will retry at %s: %s",
                row.id,
                row.message_id,
                next_at.isoformat(),
                exc,
            )
            await asyncio.to_thread(
                self._store.mark_retry,
                row.id,
                error=str(exc),
                next_at=next_at,
                now=self._clock.now(),
            )
            return False
        except PermanentError as exc:
            self.last_error = f"permanent: {exc}"
            log.error(
                "ALERT outbox #%d %s to %s is dead: %s",
                row.id,
                row.message_id,
                ",".join(row.recipients),
                exc,
            )
            await asyncio.to_thread(
                self._store.mark_dead, row.id, error=str(exc), now=self._clock.now()
            )
            return False
        # Between the server's 250 (above) and this commit lies the only window in which a
        # crash makes the message go out twice. It is one small UPDATE: see docs/delivery.md.
        await asyncio.to_thread(self._store.mark_sent, row.id, now=self._clock.now())
        self.last_error = ""
        log.info("outbox #%d %s sent to %s", row.id, row.message_id, ",".join(row.recipients))
        return True
