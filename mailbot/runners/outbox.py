"""Outbox rows -> SMTP -> sent | retry later | dead. At-least-once; see docs/delivery.md."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from mailbot.adapters.smtp import SmtpSender
from mailbot.adapters.store import DueOutbox, Store
from mailbot.clock import Clock
from mailbot.domain import OutgoingMail
from mailbot.errors import PermanentError, TransientError
from mailbot.logconfig import log_context
from mailbot.testing import crash

log = logging.getLogger(__name__)

RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)
_REF_IN_MESSAGE_ID = re.compile(r"<([A-Z][A-Z0-9]{0,9}-\d+)\.")


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: 30 s, 1 min, 2 min ... capped at an hour."""
    delay: timedelta = RETRY_BASE * (2 ** min(attempts, 16))
    return min(delay, RETRY_CAP)


@dataclass
class DrainResult:
    sent: int = 0
    retry: int = 0  # temporary failures: the server is down or busy
    dead: int = 0  # permanent failures, marked dead
    error: str = ""  # the SMTP server's
    database_error: str = ""  # reading, claiming or marking rows failed: not SMTP's fault

    @property
    def blocked(self) -> bool:
        """The server (or the database) is unavailable: try again later, not now."""
        return self.retry > 0 or bool(self.error) or bool(self.database_error)


CLAIM_HOLD = timedelta(minutes=2)


class OutboxSender:
    def __init__(
        self,
        store: Store,
        smtp: SmtpSender,
        clock: Clock,
        *,
        holder: str = "",
        gone: Callable[[str], bool] | None = None,
    ) -> None:
        self._store = store
        self._smtp = smtp
        self._clock = clock
        # Who claims rows, and how to tell that another claimer has ended (see claim_outbox).
        self._holder = holder
        self._gone = gone
        # Sent (the server said 250) but the 'sent' commit failed: never send these again in
        # this process; keep trying to record them.
        self._unmarked: set[int] = set()

    @property
    def unrecorded(self) -> int:
        """Acknowledgements the server accepted whose 'sent' mark is not committed yet."""
        return len(self._unmarked)

    async def drain_once(self, limit: int = 100) -> DrainResult:
        """Send what is due now; stops at the first temporary failure (do not hammer)."""
        result = DrainResult()
        try:
            await self._record_unmarked()
            # Claimed, not just read: another instance on the same database skips these
            # until CLAIM_HOLD ends (it ends early by being sent, retried or dead, or when
            # this process has ended and an instance on this host claims again).
            rows = await asyncio.to_thread(
                self._store.claim_outbox,
                self._clock.now(),
                limit,
                hold=CLAIM_HOLD,
                holder=self._holder,
                gone=self._gone,
            )
            for done, row in enumerate(rows, start=1):
                if row.id in self._unmarked:
                    continue
                await self._send_one(row, result)
                if result.blocked:
                    # Hand back the rows not tried, so they are due as soon as the server is.
                    untried = [r.id for r in rows[done:]]
                    await asyncio.to_thread(
                        self._store.release_claims, untried, now=self._clock.now()
                    )
                    break
        except TransientError as exc:  # the database, while reading or marking
            result.database_error = str(exc)
            log.warning("outbox paused: %s", exc)
        return result

    async def _record_unmarked(self) -> None:
        for outbox_id in sorted(self._unmarked):
            await asyncio.to_thread(self._store.mark_sent, outbox_id, now=self._clock.now())
            self._unmarked.discard(outbox_id)

    async def _send_one(self, row: DueOutbox, result: DrainResult) -> None:
        with log_context(**_fields(row)):
            await self._send_tagged(row, result)

    async def _send_tagged(self, row: DueOutbox, result: DrainResult) -> None:
        mail = OutgoingMail(row.message_id, row.sender, row.recipients, row.raw)
        try:
            await self._smtp.send(mail)
        except TransientError as exc:
            result.retry += 1
            result.error = str(exc)
            await self._retry_later(row, exc)
            return
        except PermanentError as exc:
            result.dead += 1
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
            return
        # From the server's 250 above to the commit below lies the only window in which a
        # crash makes the message go out twice: one small UPDATE (see docs/delivery.md).
        crash.point("after-smtp-250")  # test-only, inert unless MAILBOT_TEST_CRASH_AT
        self._unmarked.add(row.id)
        await asyncio.to_thread(self._store.mark_sent, row.id, now=self._clock.now())
        self._unmarked.discard(row.id)
        result.sent += 1
        log.info("outbox #%d %s sent to %s", row.id, row.message_id, ",".join(row.recipients))

    async def _retry_later(self, row: DueOutbox, exc: TransientError) -> None:
        next_at = self._clock.now() + retry_delay(row.attempts)
        log.warning(
            "outbox #%d %s: will retry at %s: %s", row.id, row.message_id, next_at.isoformat(), exc
        )
        await asyncio.to_thread(
            self._store.mark_retry, row.id, error=str(exc), next_at=next_at, now=self._clock.now()
        )


def _fields(row: DueOutbox) -> dict[str, object]:
    """Log fields of an outbox row; the ticket ref leads our Message-IDs (<REF.kind.seq.x@d>)."""
    ref = _REF_IN_MESSAGE_ID.match(row.message_id)
    return {"outbox_id": row.id, "message_id": row.message_id, "ref": ref and ref.group(1)}
