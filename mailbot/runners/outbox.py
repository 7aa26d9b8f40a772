"""Outbox rows -> SMTP -> sent | retry later | dead. At-least-once; see docs/delivery.md."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import deque
from collections.abc import Callable, Container
from dataclasses import dataclass
from datetime import datetime, timedelta

from mailbot.adapters.sentjournal import SentJournal
from mailbot.adapters.smtp import SmtpConnection, SmtpSender, SmtpUnavailable
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


class _Run:
    """One drain: the claimed rows, shared by the connections, and its commit section."""

    def __init__(self, rows: list[DueOutbox], skip: Container[int], result: DrainResult) -> None:
        self.queue = deque(row for row in rows if row.id not in skip)
        self.result = result
        # Held from writing a message's final dot until its outcome is committed: the one
        # place where the server may have a message that is not recorded as sent.
        self.commit = asyncio.Lock()
        # Set once the server took a message's envelope (so it is up), or when the run halts:
        # the other connections start only then, so a server that is down is tried once.
        self.go = asyncio.Event()
        self.halted = False
        self.given_back: list[int] = []  # begun but never finished: not tried, as it were
        self.failure: Exception | None = None

    def next(self) -> DueOutbox | None:
        return None if self.halted or not self.queue else self.queue.popleft()

    def halt(self) -> None:
        """Stop after what is in flight: a temporary failure, or a row not recorded."""
        self.halted = True
        self.go.set()

    def untried(self) -> list[int]:
        return self.given_back + [row.id for row in self.queue]


class OutboxSender:
    """Sends due rows over the SMTP sender's connections; see drain_once."""

    def __init__(
        self,
        store: Store,
        smtp: SmtpSender,
        clock: Clock,
        *,
        holder: str = "",
        gone: Callable[[str], bool] | None = None,
        journal: SentJournal | None = None,
    ) -> None:
        self._store = store
        self._smtp = smtp
        self._clock = clock
        # Who claims rows, and how to tell that another claimer has ended (see claim_outbox).
        self._holder = holder
        self._gone = gone
        # Sent (the server said 250), with the time, and not committed as sent yet: in the
        # journal (SQLite, see adapters/sentjournal.py), or their 'sent' commit failed. Never
        # sent again by this process; committed at the start of the next drain.
        self._unmarked: dict[int, datetime] = {}
        self._journal = journal
        self._in_journal: set[int] = set()  # written to the journal since it was emptied
        self._refused: set[int] = set()  # connections whose failure to connect was logged

    @property
    def unrecorded(self) -> int:
        """Acknowledgements the server accepted that are recorded nowhere yet (neither
        committed as sent nor in the journal): the next run sends them again."""
        return len(self._unmarked.keys() - self._in_journal)

    async def drain_once(self, limit: int = 100) -> DrainResult:
        """Send what is due now; stops at the first temporary failure (do not hammer).

        The connections prepare messages at once (connect, MAIL, RCPT, DATA up to the 354),
        but only one at a time is in the commit section, which sends the final dot, reads
        the reply and records the outcome (in the sent journal, or committed) before the next
        message's dot is sent: a crash leaves at most one message accepted by the server and
        not recorded as sent. Not re-entrant: one drain at a time per sender."""
        result = DrainResult()
        try:
            await self.record_sent()
            # Claimed, not just read: another instance on the same database skips these
            # until CLAIM_HOLD ends (it ends early by being sent, retried or dead, or when
            # this process has ended and an instance on this host claims again).
            # Another claimer's rows are freed only by the holder of the journal, which has
            # committed what that claimer (if it used the journal) recorded there.
            journal_free = self._journal is None or self._journal.held
            rows = await asyncio.to_thread(
                self._store.claim_outbox,
                self._clock.now(),
                limit,
                hold=CLAIM_HOLD,
                holder=self._holder,
                gone=self._gone if journal_free else None,
            )
            if rows:
                await self._send_all(_Run(rows, self._unmarked, result))
        except TransientError as exc:  # the database, while reading or marking
            result.database_error = str(exc)
            log.warning("outbox paused: %s", exc)
        return result

    async def record_sent(self) -> None:
        """Commit what the journal holds (and any earlier 'sent' mark that failed) as sent,
        then empty the journal. Until this process holds the journal, each call tries to
        take it and reads what a previous holder left in it. Raises TransientError when the
        database refuses or the journal cannot be read: the rows stay recorded here."""
        await self._take_journal()
        if not self._unmarked:
            return
        marks = dict(self._unmarked)
        await asyncio.to_thread(self._store.mark_sent_many, marks)
        for outbox_id in marks:
            del self._unmarked[outbox_id]
        # Emptied only when everything in it is committed (a row sent meanwhile stays).
        everything = self._in_journal and not self._in_journal & self._unmarked.keys()
        if self._journal is not None and everything:
            try:
                await asyncio.to_thread(self._journal.clear)
            except OSError as exc:  # harmless: its lines are committed, and fold again
                log.warning("sent journal %s not emptied: %s", self._journal.path, exc)
            else:
                self._in_journal.clear()

    async def _take_journal(self) -> None:
        journal = self._journal
        if journal is None or journal.held:
            return
        try:
            if not await asyncio.to_thread(journal.acquire):
                return  # another process has it: record in the database meanwhile
            left = await asyncio.to_thread(journal.read)
        except OSError as exc:
            journal.close()
            raise TransientError(f"sent journal {journal.path}: {exc}") from exc
        if left:
            log.info("sent journal: %d acknowledgement(s) recorded by an earlier run", len(left))
        self._unmarked = left | self._unmarked
        self._in_journal |= left.keys()

    def close(self) -> None:
        """Let go of the journal (another process may take it over)."""
        if self._journal is not None:
            self._journal.close()

    async def _send_all(self, run: _Run) -> None:
        connections = self._smtp.connections[: len(run.queue)]
        await asyncio.gather(
            *(self._connection(i, c, run) for i, c in enumerate(connections)),
        )
        untried = run.untried()
        if untried:  # hand them back, so they are due as soon as the server is
            try:
                await asyncio.to_thread(self._store.release_claims, untried, now=self._clock.now())
            except TransientError:
                if run.failure is None:
                    raise
        if run.failure is not None:
            raise run.failure

    async def _connection(self, index: int, connection: SmtpConnection, run: _Run) -> None:
        """One connection's share of the run: rows one after the other until none is left."""
        if index:
            await run.go.wait()
        try:
            while (row := run.next()) is not None:
                with log_context(**_fields(row)):
                    if not await self._send_one(index, connection, row, run):
                        return
        except Exception as exc:  # the database (TransientError) or a surprise: stop the run
            run.failure = run.failure or exc
            run.halt()
        finally:
            connection.abandon()  # a message begun when the run stopped is not sent
            run.go.set()  # whatever the first connection met, the others need not wait

    async def _send_one(
        self, index: int, connection: SmtpConnection, row: DueOutbox, run: _Run
    ) -> bool:
        """Begin, then finish in the commit section. False: this connection stops."""
        mail = OutgoingMail(row.message_id, row.sender, row.recipients, row.raw)
        try:
            await connection.begin(mail)
        except TransientError as exc:  # SmtpUnavailable too
            await self._not_begun(index, row, exc, run)
            return False
        except PermanentError as exc:
            await self._dead(row, exc, run.result)
            return True
        self._refused.discard(index)
        run.go.set()
        async with run.commit:
            return await self._finish(connection, row, run)

    async def _finish(self, connection: SmtpConnection, row: DueOutbox, run: _Run) -> bool:
        """The commit section: final dot, reply, outcome committed. Runs under run.commit."""
        if run.halted:
            connection.abandon()
            run.given_back.append(row.id)
            return False
        try:
            await connection.finish()
        except TransientError as exc:  # the server may or may not have it: retry later
            await self._failed(row, exc, run)
            return False
        except PermanentError as exc:
            await self._dead(row, exc, run.result)
            return True
        # From the server's 250 above to the record below (a journal line on disk, or one
        # small UPDATE) lies the only window in which a crash makes the message go out twice
        # (see docs/delivery.md).
        crash.point("after-smtp-250")  # test-only, inert unless MAILBOT_TEST_CRASH_AT
        sent_at = self._clock.now()
        self._unmarked[row.id] = sent_at
        try:
            if not self._journaled_now(row.id, sent_at):
                await self._mark_sent(row.id, sent_at)
                del self._unmarked[row.id]
        except BaseException:
            run.halt()  # the server has a message that is not recorded: nothing may follow
            raise
        run.result.sent += 1
        log.info("outbox #%d %s sent to %s", row.id, row.message_id, ",".join(row.recipients))
        return True

    async def _not_begun(self, index: int, row: DueOutbox, exc: TransientError, run: _Run) -> None:
        """A temporary failure before the body: nothing of the row reached the server."""
        if run.halted:  # another connection failed already: this row was not really tried
            run.given_back.append(row.id)
        elif index and isinstance(exc, SmtpUnavailable):
            # The server is up (another connection got through) but refuses this one, e.g.
            # a limit on connections per client: the others send the row.
            run.queue.appendleft(row)
            self._log_refused(index, exc)
        else:
            await self._failed(row, exc, run)

    def _journaled_now(self, outbox_id: int, sent_at: datetime) -> bool:
        """Recorded in the journal (on the event loop: one short write and flush, cheaper
        than handing it to a thread). False: no journal, or it failed; commit it instead."""
        if self._journal is None or not self._journal.held:
            return False
        try:
            self._journal.record(outbox_id, sent_at)
        except OSError as exc:
            log.warning("sent journal %s: %s; recording in the database", self._journal.path, exc)
            return False
        self._in_journal.add(outbox_id)
        return True

    async def _mark_sent(self, outbox_id: int, sent_at: datetime) -> None:
        await asyncio.to_thread(self._store.mark_sent, outbox_id, now=sent_at)

    async def _failed(self, row: DueOutbox, exc: TransientError, run: _Run) -> None:
        run.halt()
        run.result.retry += 1
        run.result.error = str(exc)
        await self._retry_later(row, exc)

    async def _dead(self, row: DueOutbox, exc: PermanentError, result: DrainResult) -> None:
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

    def _log_refused(self, index: int, exc: SmtpUnavailable) -> None:
        if index not in self._refused:
            self._refused.add(index)
            log.warning(
                "SMTP connection %d of %d refused, sending over the others: %s",
                index + 1,
                len(self._smtp.connections),
                exc,
            )

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
