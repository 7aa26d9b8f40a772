"""Repositories. Each public method is one transaction; idempotency comes from unique keys."""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, func
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session, col, select

from mailbot.adapters import statements as sql
from mailbot.adapters.newtickets import NewTicket, Pending, Unfinished, write
from mailbot.adapters.tables import (
    AuditEvent,
    InboxMessage,
    Lease,
    MailboxState,
    Outbox,
    Ticket,
    TicketMessage,
)
from mailbot.core.status import CaseState
from mailbot.domain import (
    Classification,
    Decision,
    FetchedMail,
    InboxStatus,
    OutboxStatus,
    OutgoingMail,
    ParsedMail,
    PendingInbox,
    Promise,
    TicketStatus,
    TicketView,
)
from mailbot.errors import DatabaseUnavailable

T = TypeVar("T")


class AlreadyProcessed(Exception):
    """The inbox row was finished by someone else meanwhile; nothing was written."""


@dataclass(frozen=True, slots=True)
class DueOutbox:
    id: int
    message_id: str
    sender: str
    recipients: tuple[str, ...]
    raw: bytes
    attempts: int


def dedupe_key(message_id: str, raw: bytes) -> str:
    """Message-ID when there is one, else the hash of the raw bytes."""
    return f"mid:{message_id}" if message_id else f"sha256:{hashlib.sha256(raw).hexdigest()}"


@dataclass(frozen=True, slots=True)
class Protection:
    """What processing found in a message that its transaction must record: the secret kinds
    it exposed and lookalike domains (on the ticket), the urgency a follow-up's secret raises
    its ticket to (`order`: most urgent first), and the bytes that replace its raw archive."""

    exposed: tuple[str, ...] = ()
    lookalikes: tuple[str, ...] = ()
    raise_to: str = ""
    order: tuple[str, ...] = ()
    sealed: tuple[bytes, str] | None = None  # (stored bytes, inbox.raw_state)


NOTHING_FOUND = Protection()


# (the re-opened ticket, the number its acknowledgement gets) -> (new promise, ack or None)
Renewal = Callable[[TicketView, int], tuple[Promise, OutgoingMail | None]]


class WriterGate:
    """Who writes next to an SQLite database, among this process's threads.

    SQLite has one write lock, and a writer that finds it taken sleeps in its busy handler
    (1, 2, 5, 10 ms ...), while the processing thread commits and at once begins its next
    transaction: marking an acknowledgement sent could wait for many of them. Short writes
    (`urgent`: marking sent, claiming, storing a fetched batch, leases) therefore go before
    the next processing transaction (`begin_bulk`), and wait at most for the one running.
    Other processes (the CLI) still meet the busy timeout."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._busy = False
        self._urgent = 0

    @contextmanager
    def urgent(self) -> Iterator[None]:
        with self._cv:
            self._urgent += 1
            while self._busy:
                self._cv.wait()
            self._urgent -= 1
            self._busy = True
        try:
            yield
        finally:
            self._release()

    def begin_bulk(self) -> None:
        with self._cv:
            while self._busy or self._urgent:
                self._cv.wait()
            self._busy = True

    def end_bulk(self) -> None:
        self._release()

    def _release(self) -> None:
        with self._cv:
            self._busy = False
            self._cv.notify_all()


class _NoGate(WriterGate):
    """PostgreSQL: writers of different rows do not wait for each other."""

    @contextmanager
    def urgent(self) -> Iterator[None]:
        yield

    def begin_bulk(self) -> None:
        pass

    def end_bulk(self) -> None:
        pass


_gates: weakref.WeakKeyDictionary[Engine, WriterGate] = weakref.WeakKeyDictionary()
_gates_lock = threading.Lock()


def writer_gate(engine: Engine) -> WriterGate:
    """The one gate of this engine (every Store of it shares it)."""
    with _gates_lock:
        gate = _gates.get(engine)
        if gate is None:
            gate = WriterGate() if engine.dialect.name == "sqlite" else _NoGate()
            _gates[engine] = gate
        return gate


class Store:
    def __init__(self, engine: Engine, *, ref_prefix: str = "MB") -> None:
        self.engine = engine
        self._ref_prefix = ref_prefix
        self._gate = writer_gate(engine)

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # --- ingest -------------------------------------------------------------------------
    def mailbox_state(self, account: str, mailbox: str) -> tuple[int, int] | None:
        """(uidvalidity, last_uid) recorded for the mailbox, if any."""
        with translate_db_errors(), self._session() as s:
            row = s.exec(_mailbox_q(account, mailbox)).first()
            return None if row is None else (row.uidvalidity, row.last_uid)

    def store_fetched(
        self,
        account: str,
        mailbox: str,
        uidvalidity: int,
        mails: Sequence[FetchedMail],
        message_ids: Sequence[str],
        *,
        now: datetime,
        unfetchable: Sequence[tuple[int, str]] = (),
    ) -> int:
        """Archive a batch and advance last_uid, atomically. Returns how many were new.

        UIDs the server would not give us become quarantine rows (no bytes, the reason), so
        every UID passed over is accounted for.
        """
        with translate_db_errors(), self._gate.urgent(), self._session() as s:
            state = s.exec(_mailbox_q(account, mailbox)).first()
            if state is None or state.uidvalidity != uidvalidity:
                state = state or MailboxState(account=account, mailbox=mailbox, uidvalidity=0)
                state.uidvalidity, state.last_uid = uidvalidity, 0
            known = _known_keys(s, account, mailbox, uidvalidity, mails, message_ids, unfetchable)
            new = 0
            for mail, mid in zip(mails, message_ids, strict=True):
                if (mail.uidvalidity, mail.uid) in known.uids:
                    continue
                new += _archive_one(s, mail, mid, known, now)
                state.last_uid = max(state.last_uid, mail.uid)
            for uid, reason in unfetchable:
                if (uidvalidity, uid) not in known.uids:
                    s.add(_unfetchable_row(account, mailbox, uidvalidity, uid, reason, now))
                    state.last_uid = max(state.last_uid, uid)
            s.add(state)
            s.commit()
            return new

    # --- processing ---------------------------------------------------------------------
    def pending_inbox(self, limit: int, *, after: int = 0) -> list[PendingInbox]:
        """The oldest `limit` received rows with an id above `after`."""
        with translate_db_errors(), self._session() as s:
            rows = s.exec(
                select(InboxMessage)
                .where(InboxMessage.status == InboxStatus.RECEIVED, col(InboxMessage.id) > after)
                .order_by(col(InboxMessage.id))
                .limit(limit)
            ).all()
            return [
                PendingInbox(r.id or 0, r.raw, r.fetched_at, r.account, r.mailbox) for r in rows
            ]

    def thread_lookup(
        self, message_ids: Sequence[str], refs: Sequence[str]
    ) -> tuple[dict[str, int], dict[str, tuple[int, str]]]:
        """Tickets that own any of `message_ids`; (id, customer) of tickets named by `refs`."""
        with translate_db_errors(), self._session() as s:
            return _thread_lookup(s, message_ids, refs)

    def recent_tickets_from(
        self, address: str, since: datetime, limit: int = 20
    ) -> list[tuple[int, str]]:
        """(id, subject) of the sender's tickets received since `since`, newest first."""
        with translate_db_errors(), self._session() as s:
            return _recent_tickets_from(s, address, since, limit)

    def recent_acks_to(self, address: str, since: datetime) -> int:
        with translate_db_errors(), self._session() as s:
            return _recent_acks_to(s, address, since)

    def open_ticket(
        self,
        inbox_id: int,
        mail: ParsedMail,
        c: Classification,
        d: Decision,
        *,
        received: datetime,
        now: datetime,
        needs_triage: bool,
        render_ack: Callable[[TicketView], OutgoingMail] | None,
        first_check: datetime | None = None,
        protection: Protection = NOTHING_FOUND,
    ) -> str:
        """New ticket + its first message + (optional) ack in the outbox + audit, one commit.

        `first_check`: when the escalation scan should first look at it (default: at once)."""
        with translate_db_errors(), self._session() as s:
            ref = _open_ticket(
                s,
                self._ref_prefix,
                inbox_id,
                mail,
                c,
                d,
                received=received,
                now=now,
                needs_triage=needs_triage,
                render_ack=render_ack,
                first_check=first_check,
                protection=protection,
            )
            s.commit()
            return ref

    def add_follow_up(
        self,
        inbox_id: int,
        ticket_id: int,
        mail: ParsedMail,
        d: Decision,
        *,
        now: datetime,
        kind: str = "follow_up",
        renew: Renewal | None = None,
        protection: Protection = NOTHING_FOUND,
    ) -> str:
        """Attach a message to its ticket. A customer's follow-up re-opens a resolved ticket;
        a bounce of our acknowledgement (kind "bounce") does not.

        `renew` gives a re-opened ticket its new promise, and the acknowledgement that tells
        the customer (None: no acknowledgement, e.g. the sender is rate-limited)."""
        with translate_db_errors(), self._session() as s:
            ref = _add_follow_up(
                s,
                inbox_id,
                ticket_id,
                mail,
                d,
                now=now,
                kind=kind,
                renew=renew,
                protection=protection,
            )
            s.commit()
            return ref

    def case_state(self, ticket_id: int, *, now: datetime) -> tuple[TicketView, CaseState] | None:
        """What a status answer about this ticket would say, and how many went out lately."""
        with translate_db_errors(), self._session() as s:
            return _case_state_of(s, ticket_id, now)

    def answer_status(
        self,
        inbox_id: int,
        ticket_id: int,
        mail: ParsedMail,
        render: Callable[[int], OutgoingMail] | None,
        *,
        now: datetime,
        reason: str,
        protection: Protection = NOTHING_FOUND,
    ) -> str:
        """Record a status request on its ticket, with the answer (numbered after earlier
        ones) in the outbox, or without one (`reason` says why). It is no new request: the
        ticket's status and promises stay as they are."""
        with translate_db_errors(), self._session() as s:
            ref = _answer_status(
                s, inbox_id, ticket_id, mail, render, now=now, reason=reason, protection=protection
            )
            s.commit()
            return ref

    def quarantine(self, inbox_id: int, reason: str, *, now: datetime) -> None:
        with translate_db_errors(), self._session() as s:
            _quarantine(s, inbox_id, reason, now=now)
            s.commit()

    @contextmanager
    def batch(self) -> Iterator[Batch]:
        """One transaction for many messages (see Batch); committed when the block ends
        without an exception, rolled back as a whole otherwise."""
        with translate_db_errors(), self._session() as s:
            batch = Batch(s, self._ref_prefix, self._gate)
            try:
                yield batch
                batch.commit()
            finally:
                batch.close()

    # --- outbox -------------------------------------------------------------------------
    def due_outbox(self, now: datetime, limit: int) -> list[DueOutbox]:
        with translate_db_errors(), self._session() as s:
            rows = s.exec(
                select(Outbox)
                .where(Outbox.status == OutboxStatus.PENDING, Outbox.next_attempt_at <= now)
                .order_by(col(Outbox.id))
                .limit(limit)
            ).all()
            return [_due(r) for r in rows]

    def claim_outbox(
        self,
        now: datetime,
        limit: int,
        *,
        hold: timedelta,
        holder: str = "",
        gone: Callable[[str], bool] | None = None,
    ) -> list[DueOutbox]:
        """Due rows, claimed for `hold` by `holder`: pushing their next attempt past the hold
        keeps other instances off them (FOR UPDATE SKIP LOCKED on PostgreSQL makes the claim
        itself safe under concurrency). A claimer that dies leaves them due again when the
        hold ends, or at once when `gone(claimer)` says it has ended."""
        with translate_db_errors(), self._gate.urgent(), self._session() as s:
            if gone is not None:
                _release_claims_of_the_gone(s, now, gone)
            rows = s.exec(
                select(Outbox)
                .where(Outbox.status == OutboxStatus.PENDING, Outbox.next_attempt_at <= now)
                .order_by(col(Outbox.id))
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            table = Outbox.__table__  # type: ignore[attr-defined]
            claimed = [
                row
                for row in rows
                # Conditional: on SQLite (no row locks) a concurrent claimer may have read the
                # same rows; whoever updates second finds the condition false and skips it.
                if s.connection()
                .execute(
                    table.update()
                    .where(
                        table.c.id == row.id,
                        table.c.status == OutboxStatus.PENDING,
                        table.c.next_attempt_at <= now,
                    )
                    .values(next_attempt_at=now + hold, claimed_by=holder)
                )
                .rowcount
                == 1
            ]
            s.commit()
            return [_due(r) for r in claimed]

    def release_claims(self, outbox_ids: Sequence[int], *, now: datetime) -> None:
        """Claimed rows this instance did not try: due again now, for anyone."""
        if not outbox_ids:
            return
        with translate_db_errors(), self._gate.urgent(), self.engine.begin() as conn:
            table = Outbox.__table__  # type: ignore[attr-defined]
            conn.execute(
                table.update()
                .where(table.c.id.in_(list(outbox_ids)), table.c.status == OutboxStatus.PENDING)
                .values(next_attempt_at=now, claimed_by="")
            )

    # --- leases -------------------------------------------------------------------------
    def acquire_lease(
        self,
        name: str,
        holder: str,
        *,
        now: datetime,
        ttl: timedelta,
        gone: Callable[[str], bool] | None = None,
    ) -> bool:
        """Take or renew the lease `name` for `holder` until now + ttl; False while another
        holder's lease runs, unless `gone(that holder)` says it has ended. The row lock makes
        two candidates decide one after the other."""
        try:
            with translate_db_errors(), self._gate.urgent(), self._session() as s:
                lease = s.exec(select(Lease).where(Lease.name == name).with_for_update()).first()
                if lease is None:
                    lease = Lease(name=name, holder=holder, expires_at=now + ttl)
                elif (
                    lease.holder == holder
                    or lease.expires_at <= now
                    or (gone is not None and gone(lease.holder))
                ):
                    lease.holder, lease.expires_at = holder, now + ttl
                else:
                    return False
                s.add(lease)
                s.commit()
                return True
        except IntegrityError:  # another candidate inserted the first row at the same moment
            return False

    def release_lease(self, name: str, holder: str) -> None:
        with translate_db_errors(), self._gate.urgent(), self._session() as s:
            lease = s.get(Lease, name)
            if lease is not None and lease.holder == holder:
                s.delete(lease)
                s.commit()

    def pending_outbox_count(self) -> int:
        with translate_db_errors(), self._session() as s:
            return int(
                s.exec(
                    select(func.count())
                    .select_from(Outbox)
                    .where(Outbox.status == OutboxStatus.PENDING)
                ).one()
            )

    def mark_sent(self, outbox_id: int, *, now: datetime) -> None:
        """Called right after the server's 250: keep this transaction tiny."""
        self.mark_sent_many({outbox_id: now})

    def mark_sent_many(self, sent: Mapping[int, datetime]) -> None:
        """Rows sent at the given times (the sent journal's, or one just sent), in one
        transaction; a row already marked keeps its first time."""
        if not sent:
            return
        params = [{"p_id": outbox_id, "p_at": at} for outbox_id, at in sorted(sent.items())]
        with translate_db_errors(), self._gate.urgent(), self.engine.begin() as conn:
            conn.execute(sql.MARK_SENT_IF_PENDING, params)

    def mark_retry(self, outbox_id: int, *, error: str, next_at: datetime, now: datetime) -> None:
        self._update_outbox(
            outbox_id,
            now,
            "send_retry",
            status=OutboxStatus.PENDING,
            next_attempt_at=next_at,
            last_error=error[:2000],
            claimed_by="",  # waiting out a backoff is not a claim
        )

    def mark_dead(self, outbox_id: int, *, error: str, now: datetime) -> None:
        self._update_outbox(
            outbox_id, now, "send_dead", status=OutboxStatus.DEAD, last_error=error[:2000]
        )

    def _update_outbox(self, outbox_id: int, now: datetime, event: str, **values: Any) -> None:
        with translate_db_errors(), self._gate.urgent(), self._session() as s:
            row = s.get(Outbox, outbox_id)
            if row is None:
                return
            for key, value in values.items():
                setattr(row, key, value)
            row.attempts += 1
            s.add(row)
            add_audit(
                s, now, event, row.ticket_id, None, {"outbox": outbox_id, "error": row.last_error}
            )
            s.commit()

    # --- status ---------------------------------------------------------------------------
    def unanswered_open_tickets(self, now: datetime) -> list[tuple[int, datetime, int]]:
        """(id, first_response_due, escalation_level) of open tickets due by `now` and not
        yet answered (the daemon's status line counts them)."""
        with translate_db_errors(), self._session() as s:
            rows = s.exec(
                select(Ticket.id, Ticket.first_response_due, Ticket.escalation_level).where(
                    Ticket.status == TicketStatus.OPEN,
                    col(Ticket.first_response_at).is_(None),
                    Ticket.first_response_due <= now,
                )
            ).all()
            return [(tid or 0, due, level) for tid, due, level in rows]

    # --- reading, for the CLI -----------------------------------------------------------
    def tickets(self, limit: int = 100) -> list[Ticket]:
        with translate_db_errors(), self._session() as s:
            return list(s.exec(select(Ticket).order_by(col(Ticket.id).desc()).limit(limit)).all())

    def ticket(self, ref: str) -> tuple[Ticket, list[TicketMessage], list[Outbox]] | None:
        with translate_db_errors(), self._session() as s:
            ticket = s.exec(select(Ticket).where(Ticket.ref == ref)).first()
            if ticket is None:
                return None
            messages = s.exec(
                select(TicketMessage)
                .where(TicketMessage.ticket_id == ticket.id)
                .order_by(col(TicketMessage.id))
            ).all()
            outbox = s.exec(
                select(Outbox).where(Outbox.ticket_id == ticket.id).order_by(col(Outbox.id))
            ).all()
            return ticket, list(messages), list(outbox)


@dataclass
class _Known:
    uids: set[tuple[int, int]]
    keys: dict[str, tuple[int, str]]  # dedupe key -> (inbox id, raw sha256) of the first copy


def _mailbox_q(account: str, mailbox: str) -> Any:
    return select(MailboxState).where(
        MailboxState.account == account, MailboxState.mailbox == mailbox
    )


def _release_claims_of_the_gone(s: Session, now: datetime, gone: Callable[[str], bool]) -> None:
    """Pending rows claimed by an instance that has ended (a crash) are due again now."""
    claimers = s.exec(
        select(Outbox.claimed_by)
        .distinct()
        .where(
            Outbox.status == OutboxStatus.PENDING,
            Outbox.next_attempt_at > now,
            Outbox.claimed_by != "",
        )
    ).all()
    ended = [c for c in claimers if gone(c)]
    if ended:
        table = Outbox.__table__  # type: ignore[attr-defined]
        s.connection().execute(
            table.update()
            .where(
                table.c.status == OutboxStatus.PENDING,
                table.c.claimed_by.in_(ended),
                table.c.next_attempt_at > now,
            )
            .values(next_attempt_at=now, claimed_by="")
        )


def _known_keys(
    s: Session,
    account: str,
    mailbox: str,
    uidvalidity: int,
    mails: Sequence[FetchedMail],
    message_ids: Sequence[str],
    unfetchable: Sequence[tuple[int, str]] = (),
) -> _Known:
    uids = [m.uid for m in mails] + [uid for uid, _ in unfetchable]
    seen_uids = {
        (uidvalidity, u)
        for u in s.exec(
            select(InboxMessage.uid).where(
                InboxMessage.account == account,
                InboxMessage.mailbox == mailbox,
                InboxMessage.uidvalidity == uidvalidity,
                col(InboxMessage.uid).in_(uids),
            )
        )
    }
    keys = [dedupe_key(mid, m.raw) for m, mid in zip(mails, message_ids, strict=True)]
    found = {
        k: (i, sha)
        for k, i, sha in s.exec(
            select(InboxMessage.dedupe_key, InboxMessage.id, InboxMessage.raw_sha256).where(
                col(InboxMessage.dedupe_key).in_(keys)
            )
        )
        if k is not None and i is not None
    }
    return _Known(seen_uids, found)


def _archive_one(
    s: Session, mail: FetchedMail, message_id: str, known: _Known, now: datetime
) -> int:
    key = dedupe_key(message_id, mail.raw)
    sha = hashlib.sha256(mail.raw).hexdigest()
    first_copy = known.keys.get(key)
    first = first_copy[0] if first_copy else None
    reason = ""
    if first_copy:
        # Copies delivered by different routes differ in their trace headers; the bytes are
        # kept and the difference is stated, so an operator can check and replay.
        same = "identical bytes" if first_copy[1] == sha else "different bytes"
        reason = f"same Message-ID as inbox #{first} ({same})"
    # A Core insert: the ORM's unit of work and a flush per row cost more than the INSERT.
    inserted = s.connection().execute(
        sql.INSERT_INBOX,
        {
            "account": mail.account,
            "mailbox": mail.mailbox,
            "uidvalidity": mail.uidvalidity,
            "uid": mail.uid,
            "dedupe_key": None if first else key,
            "message_id": message_id,
            "raw_sha256": sha,
            "raw": mail.raw,
            "raw_state": "",
            "size": len(mail.raw),
            "status": InboxStatus.DUPLICATE if first else InboxStatus.RECEIVED,
            "reason": reason,
            "duplicate_of": first,
            "ticket_id": None,
            "fetched_at": now,
            "processed_at": now if first else None,
        },
    )
    known.uids.add((mail.uidvalidity, mail.uid))
    if first:
        return 0
    primary_key = inserted.inserted_primary_key
    assert primary_key is not None
    known.keys[key] = (int(primary_key[0]), sha)
    return 1


def _unfetchable_row(
    account: str, mailbox: str, uidvalidity: int, uid: int, reason: str, now: datetime
) -> InboxMessage:
    return InboxMessage(
        account=account,
        mailbox=mailbox,
        uidvalidity=uidvalidity,
        uid=uid,
        raw_sha256=hashlib.sha256(b"").hexdigest(),
        raw=b"",
        size=0,
        status=InboxStatus.QUARANTINED,
        reason=f"could not fetch: {reason}"[:2000],
        fetched_at=now,
        processed_at=now,
    )


def _due(r: Outbox) -> DueOutbox:
    recipients = tuple(r.recipients.split(","))
    return DueOutbox(r.id or 0, r.message_id, r.sender, recipients, r.raw, r.attempts)


def _add_customer_message(
    s: Session, ticket_id: int, inbox_id: int, mail: ParsedMail, kind: str, now: datetime
) -> None:
    add_mail_message(s, ticket_id, inbox_id, mail, kind, now, direction="in")


def add_mail_message(
    s: Session,
    ticket_id: int,
    inbox_id: int,
    mail: ParsedMail,
    kind: str,
    now: datetime,
    *,
    direction: str,
) -> None:
    """A fetched message joins a ticket: the customer's ("in"), or an agent's reply ("out")."""
    s.add(
        TicketMessage(
            ticket_id=ticket_id,
            direction=direction,
            kind=kind,
            message_id=mail.message_id,
            inbox_id=inbox_id,
            from_address=mail.from_address.lower(),
            subject=mail.subject,
            body=mail.text,
            new_text=mail.new_text,
            attachments=attachments_json(mail),
            created_at=now,
        )
    )


def _add_outbox(
    s: Session, ticket_id: int, kind: str, seq: int, out: OutgoingMail, now: datetime
) -> None:
    s.add(
        Outbox(
            ticket_id=ticket_id,
            kind=kind,
            seq=seq,
            message_id=out.message_id,
            sender=out.sender,
            recipients=",".join(r.lower() for r in out.recipients),
            raw=out.raw,
            status=OutboxStatus.PENDING,
            next_attempt_at=now,
            created_at=now,
        )
    )
    # Our own Message-ID joins the thread index, so a reply to the ack finds the ticket.
    s.add(
        TicketMessage(
            ticket_id=ticket_id,
            direction="out",
            kind=kind,
            message_id=out.message_id,
            from_address=out.sender,
            created_at=now,
        )
    )


def _renew_promise(s: Session, ticket: Ticket, renew: Renewal, now: datetime) -> None:
    """A new promise from `now`, and its acknowledgement numbered after the earlier ones."""
    assert ticket.id is not None
    acks = s.exec(
        select(func.count()).where(Outbox.ticket_id == ticket.id, Outbox.kind == "ack")
    ).one()
    promised, out = renew(_view(ticket), acks + 1)
    ticket.promise_start = now
    ticket.first_response_due = promised.first_response_due
    ticket.resolution_due = promised.resolution_due
    if out is not None:
        _add_outbox(s, ticket.id, "ack", acks + 1, out, now)


def _flag(ticket: Ticket, p: Protection) -> None:
    """A later message's exposure joins the ticket's, and may raise its urgency."""
    if p.exposed:
        known = [k for k in ticket.exposed.split(",") if k]
        ticket.exposed = ",".join(dict.fromkeys((*known, *p.exposed)))
    if p.lookalikes:
        known = [k for k in ticket.lookalikes.split(",") if k]
        ticket.lookalikes = ",".join(dict.fromkeys((*known, *p.lookalikes)))
    order = p.order
    raises = p.raise_to in order and ticket.urgency in order
    if raises and order.index(p.raise_to) < order.index(ticket.urgency):
        ticket.urgency = p.raise_to


def _finish_inbox(
    s: Session,
    inbox_id: int,
    ticket_id: int,
    now: datetime,
    sealed: tuple[bytes, str] | None = None,
) -> None:
    # One conditional UPDATE (see statements.FINISH_INBOX), not a SELECT ... FOR UPDATE and
    # an UPDATE; the status is read only when it changed nothing.
    conn = s.connection()
    finished = conn.execute(
        sql.FINISH_INBOX, {"p_id": inbox_id, "p_ticket_id": ticket_id, "p_at": now}
    )
    if finished.rowcount != 1:
        status = conn.execute(sql.INBOX_STATUS, {"p_id": inbox_id}).scalar_one_or_none()
        if status is None:
            raise LookupError(f"inbox row {inbox_id} vanished")
        # Another process got there first: roll back rather than make a second ticket/ack.
        raise AlreadyProcessed(f"inbox row {inbox_id} is already {status}")
    table = InboxMessage.__table__  # type: ignore[attr-defined]
    if sealed is not None:  # it held a secret: the plain bytes go in the same transaction
        s.connection().execute(
            table.update().where(table.c.id == inbox_id).values(raw=sealed[0], raw_state=sealed[1])
        )


def add_audit(
    s: Session,
    now: datetime,
    kind: str,
    ticket_id: int | None,
    inbox_id: int | None,
    detail: dict[str, Any],
) -> None:
    s.add(
        AuditEvent(
            at=now,
            kind=kind,
            ticket_id=ticket_id,
            inbox_id=inbox_id,
            detail=json.dumps(detail, ensure_ascii=False),
        )
    )


def _explanation(c: Classification, d: Decision) -> str:
    return json.dumps(
        {
            "probabilities": c.probabilities,
            "explanation": list(c.explanation),
            "reasons": list(d.reasons),
        },
        ensure_ascii=False,
    )


def _case_state(t: Ticket, last_customer_message: datetime | None, recent: int) -> CaseState:
    start = t.promise_start or t.received_at
    answered = t.last_response_at or t.first_response_at
    replied_last = answered is not None and (
        last_customer_message is None or answered >= last_customer_message
    )
    is_open = t.status == TicketStatus.OPEN
    due: datetime | None = None
    if is_open:
        owed_first = answered is None or answered < start
        due = t.first_response_due if owed_first else t.resolution_due
    return CaseState(
        ref=t.ref,
        owner=t.customer_address,
        open=is_open,
        due=due,
        waiting_for="customer" if replied_last else "team",
        recent_answers=recent,
    )


def _view(t: Ticket) -> TicketView:
    return TicketView(
        ref=t.ref,
        customer_address=t.customer_address,
        customer_name=t.customer_name,
        subject=t.subject,
        category=t.category,
        urgency=t.urgency,
        language=t.language,
        received_at=t.received_at,
        first_response_due=t.first_response_due,
    )


class Batch:
    """Many messages in one transaction, each in its own SAVEPOINT (`item`): a message that
    fails rolls back alone and the others stay, so one bad message cannot take the batch down.
    `commit` ends the transaction; the next `item` starts another.

    On SQLite the transaction starts with BEGIN IMMEDIATE: it reads, then writes, and a
    deferred transaction that read before another connection wrote could not write at all.
    The write lock is held until `commit`, so callers keep a transaction short.

    On SQLite new tickets wait (adapters/newtickets.py) and are written together before
    anything else is written, and at `commit`; an item's SAVEPOINT is begun only when it writes
    something else. When writing them together fails, each is written again in its own
    SAVEPOINT: one that still fails is quarantined (or, finished meanwhile by someone else,
    left alone), and `commit` returns those inbox ids with the error."""

    def __init__(self, session: Session, ref_prefix: str, gate: WriterGate) -> None:
        self._s = session
        self._ref_prefix = ref_prefix
        self._gate = gate
        self._sqlite = session.get_bind().dialect.name == "sqlite"
        self._open = False
        self._pending = Pending()
        self._next_id: int | None = None  # the id the next new ticket gets (SQLite)
        self._in_item = False
        self._mark = 0  # tickets from here on in self._pending are the current item's
        self._savepoint: SessionTransaction | None = None  # the current item's, once begun
        self._failed: dict[int, Exception] = {}

    @contextmanager
    def item(self) -> Iterator[None]:
        with translate_db_errors():
            if not self._open:
                self._gate.begin_bulk()
                self._open = True
                if self._sqlite:
                    self._s.connection().exec_driver_sql("BEGIN IMMEDIATE")
            if not self._sqlite:
                with self._s.begin_nested():
                    yield
                return
            self._mark, self._in_item = len(self._pending), True
            try:
                yield
            except BaseException:
                dropped = self._pending.tickets[self._mark :]
                del self._pending.tickets[self._mark :]
                if self._savepoint is not None:
                    self._savepoint.rollback()
                    self._next_id = None  # it may have written its ticket: ask again
                if dropped:
                    self._next_id = dropped[0].ticket_id  # as if they had never been made
                raise
            else:
                if self._savepoint is not None:
                    self._savepoint.commit()
            finally:
                self._in_item, self._savepoint = False, None

    def _write_now(self) -> None:
        """Before anything but a new ticket is written (or a ticket read whole): the
        waiting tickets of earlier items first, then this item's SAVEPOINT, in which its own
        new ticket (if any) is written and fails with the item."""
        if not self._in_item:
            self._write_pending()
            return
        own = self._pending.tickets[self._mark :]
        del self._pending.tickets[self._mark :]
        self._write_pending()
        self._mark = 0
        if self._savepoint is None:
            self._savepoint = self._s.begin_nested()
        if own:
            try:
                write(self._s.connection(), own)
            except Unfinished:
                raise _already_processed(self._s, own[0].inbox_id) from None

    def _write_pending(self) -> None:
        group = self._pending.take()
        if not group:
            return
        try:
            with self._s.begin_nested():
                write(self._s.connection(), group)
            return
        except (OperationalError, InterfaceError):
            raise  # the database itself: the whole transaction is redone later
        except Exception:  # a bad row, or one finished by someone else: one by one
            pass
        for new in group:
            try:
                with self._s.begin_nested():
                    write(self._s.connection(), [new])
            except (OperationalError, InterfaceError):
                raise
            except Exception as exc:
                if isinstance(exc, Unfinished):
                    exc = _already_processed(self._s, new.inbox_id)
                self._failed[new.inbox_id] = exc
                if not isinstance(exc, AlreadyProcessed):
                    with self._s.begin_nested():
                        reason = f"{exc.__class__.__name__}: {exc}"
                        _quarantine(self._s, new.inbox_id, reason, now=new.now)

    def commit(self) -> dict[int, Exception]:
        """Ends the transaction; returns the inbox ids whose new ticket could not be written
        (quarantined, or AlreadyProcessed) since the last commit."""
        with translate_db_errors():
            self._write_pending()
            self._s.commit()
        self._next_id = None
        failed, self._failed = self._failed, {}
        if self._open:
            self._open = False
            self._gate.end_bulk()  # let the other writers in
        return failed

    def close(self) -> None:
        """On the way out after an error: roll back what is not committed, let others in."""
        self._pending.take()
        self._next_id, self._failed = None, {}
        if self._open:
            self._open = False
            try:
                self._s.rollback()
            finally:
                self._gate.end_bulk()

    def _ticket_id(self) -> int:
        """The id SQLite gives the next ticket: ours hold the write lock, nobody else adds."""
        if self._next_id is None:
            largest = self._s.connection().execute(sql.MAX_TICKET_ID).scalar_one()
            self._next_id = int(largest) + 1
        return self._next_id

    def thread_lookup(
        self, message_ids: Sequence[str], refs: Sequence[str]
    ) -> tuple[dict[str, int], dict[str, tuple[int, str]]]:
        by_id, by_ref = _thread_lookup(self._s, message_ids, refs)
        if self._pending:
            self._pending.by_message_id(set(message_ids), by_id)
            self._pending.by_ref(set(refs), by_ref)
        return by_id, by_ref

    def recent_tickets_from(
        self, address: str, since: datetime, limit: int = 20
    ) -> list[tuple[int, str]]:
        found = _recent_tickets_from(self._s, address, since, limit)
        if not self._pending:
            return found
        return self._pending.recent_tickets_from(address.lower(), since, found, limit)

    def recent_acks_to(self, address: str, since: datetime) -> int:
        found = _recent_acks_to(self._s, address, since)
        return found + self._pending.recent_acks_to(address.lower(), since)

    def open_ticket(
        self,
        inbox_id: int,
        mail: ParsedMail,
        c: Classification,
        d: Decision,
        *,
        received: datetime,
        now: datetime,
        needs_triage: bool,
        render_ack: Callable[[TicketView], OutgoingMail] | None,
        first_check: datetime | None = None,
        protection: Protection = NOTHING_FOUND,
    ) -> str:
        if self._sqlite:
            ticket = _ticket_values(
                "",
                mail,
                c,
                d,
                received=received,
                now=now,
                needs_triage=needs_triage,
                first_check=first_check,
                protection=protection,
            )
            ticket["id"] = self._ticket_id()
            new = _new_ticket_rows(
                ticket, self._ref_prefix, inbox_id, mail, d, now, render_ack, protection
            )
            self._pending.tickets.append(new)
            self._next_id = new.ticket_id + 1
            return str(new.ticket["ref"])
        return _open_ticket(
            self._s,
            self._ref_prefix,
            inbox_id,
            mail,
            c,
            d,
            received=received,
            now=now,
            needs_triage=needs_triage,
            render_ack=render_ack,
            first_check=first_check,
            protection=protection,
        )

    def add_follow_up(
        self,
        inbox_id: int,
        ticket_id: int,
        mail: ParsedMail,
        d: Decision,
        *,
        now: datetime,
        kind: str = "follow_up",
        renew: Renewal | None = None,
        protection: Protection = NOTHING_FOUND,
    ) -> str:
        self._write_now()
        return _add_follow_up(
            self._s,
            inbox_id,
            ticket_id,
            mail,
            d,
            now=now,
            kind=kind,
            renew=renew,
            protection=protection,
        )

    def case_state(self, ticket_id: int, *, now: datetime) -> tuple[TicketView, CaseState] | None:
        self._write_now()
        return _case_state_of(self._s, ticket_id, now)

    def answer_status(
        self,
        inbox_id: int,
        ticket_id: int,
        mail: ParsedMail,
        render: Callable[[int], OutgoingMail] | None,
        *,
        now: datetime,
        reason: str,
        protection: Protection = NOTHING_FOUND,
    ) -> str:
        self._write_now()
        return _answer_status(
            self._s,
            inbox_id,
            ticket_id,
            mail,
            render,
            now=now,
            reason=reason,
            protection=protection,
        )

    def quarantine(self, inbox_id: int, reason: str, *, now: datetime) -> None:
        self._write_now()
        _quarantine(self._s, inbox_id, reason, now=now)

    def apply(self, change: Callable[[Session], T]) -> T:
        """`change` inside this transaction (e.g. workflow.record_agent_reply)."""
        self._write_now()
        return change(self._s)


def _already_processed(s: Session, inbox_id: int) -> Exception:
    """Why a new ticket's inbox row could not be finished (see _finish_inbox)."""
    status = s.connection().execute(sql.INBOX_STATUS, {"p_id": inbox_id}).scalar_one_or_none()
    if status is None:
        return LookupError(f"inbox row {inbox_id} vanished")
    return AlreadyProcessed(f"inbox row {inbox_id} is already {status}")


def _thread_lookup(
    s: Session, message_ids: Sequence[str], refs: Sequence[str]
) -> tuple[dict[str, int], dict[str, tuple[int, str]]]:
    conn = s.connection()
    by_id: dict[str, int] = {}
    if message_ids:
        for mid, tid in conn.execute(sql.TICKETS_BY_MESSAGE_ID, {"p_ids": list(message_ids)}):
            by_id[mid] = tid
    by_ref: dict[str, tuple[int, str]] = {}
    if refs:
        for ref, ticket_id, customer in conn.execute(sql.TICKETS_BY_REF, {"p_refs": list(refs)}):
            by_ref[ref] = (ticket_id or 0, customer)
    return by_id, by_ref


def _recent_tickets_from(
    s: Session, address: str, since: datetime, limit: int
) -> list[tuple[int, str]]:
    rows = s.connection().execute(
        sql.RECENT_TICKETS_FROM,
        {"p_address": address.lower(), "p_since": since, "p_limit": limit},
    )
    return [(tid or 0, subject) for tid, subject in rows]


def _recent_acks_to(s: Session, address: str, since: datetime) -> int:
    found = s.connection().execute(
        sql.RECENT_ACKS_TO, {"p_address": address.lower(), "p_since": since}
    )
    return int(found.scalar_one())


def _open_ticket(
    s: Session,
    ref_prefix: str,
    inbox_id: int,
    mail: ParsedMail,
    c: Classification,
    d: Decision,
    *,
    received: datetime,
    now: datetime,
    needs_triage: bool,
    render_ack: Callable[[TicketView], OutgoingMail] | None,
    first_check: datetime | None,
    protection: Protection = NOTHING_FOUND,
) -> str:
    # Core inserts, not ORM objects: the unit of work cost more than the SQL (bench/README.md).
    conn = s.connection()
    ticket = _ticket_values(
        f"pending-{inbox_id}",
        mail,
        c,
        d,
        received=received,
        now=now,
        needs_triage=needs_triage,
        first_check=first_check,
        protection=protection,
    )
    key = conn.execute(sql.INSERT_TICKET, ticket).inserted_primary_key
    assert key is not None
    new = _new_ticket_rows(
        {**ticket, "id": int(key[0])}, ref_prefix, inbox_id, mail, d, now, render_ack, protection
    )
    conn.execute(sql.SET_TICKET_REF, {"p_id": new.ticket_id, "p_ref": new.ticket["ref"]})
    conn.execute(sql.INSERT_MESSAGE, list(new.messages))
    if new.outbox is not None:
        conn.execute(sql.INSERT_OUTBOX, new.outbox)
    _finish_inbox(s, inbox_id, new.ticket_id, now, protection.sealed)
    conn.execute(sql.INSERT_AUDIT, new.audit)
    return str(new.ticket["ref"])


def _ticket_values(
    ref: str,
    mail: ParsedMail,
    c: Classification,
    d: Decision,
    *,
    received: datetime,
    now: datetime,
    needs_triage: bool,
    first_check: datetime | None,
    protection: Protection,
) -> dict[str, Any]:
    """A new ticket row (without its id)."""
    assert d.promise is not None
    return {
        "ref": ref,
        "customer_address": mail.from_address.lower(),
        "customer_name": mail.from_name,
        "subject": mail.subject,
        "category": c.category,
        "urgency": c.urgency,
        "language": c.language,
        "status": TicketStatus.OPEN,
        "needs_triage": needs_triage,
        "confidence": c.confidence,
        "model_version": c.model_version,
        "explanation": _explanation(c, d),
        "received_at": received,
        "first_response_due": d.promise.first_response_due,
        "resolution_due": d.promise.resolution_due,
        "created_at": now,
        "next_escalation_at": first_check or received,
        "exposed": ",".join(protection.exposed),
        "lookalikes": ",".join(protection.lookalikes),
    }


def _new_ticket_rows(
    ticket: dict[str, Any],
    ref_prefix: str,
    inbox_id: int,
    mail: ParsedMail,
    d: Decision,
    now: datetime,
    render_ack: Callable[[TicketView], OutgoingMail] | None,
    protection: Protection,
) -> NewTicket:
    """Everything a new ticket writes once its id is known; renders the acknowledgement."""
    ticket_id = int(ticket["id"])
    ticket = {**ticket, "ref": f"{ref_prefix}-{ticket_id:06d}"}
    messages = [_message_values(ticket_id, inbox_id, mail, now)]
    outbox = None
    if render_ack is not None:
        out = render_ack(
            TicketView(
                ref=ticket["ref"],
                customer_address=ticket["customer_address"],
                customer_name=ticket["customer_name"],
                subject=ticket["subject"],
                category=ticket["category"],
                urgency=ticket["urgency"],
                language=ticket["language"],
                received_at=ticket["received_at"],
                first_response_due=ticket["first_response_due"],
            )
        )
        outbox = _outbox_values(ticket_id, "ack", 1, out, now)
        # Our own Message-ID joins the thread index, so a reply to the ack finds the ticket.
        # Every column is given (as the database defaults them) so that both rows go in one
        # statement.
        messages.append(
            {
                "ticket_id": ticket_id,
                "direction": "out",
                "kind": "ack",
                "message_id": out.message_id,
                "inbox_id": None,
                "from_address": out.sender,
                "subject": "",
                "body": "",
                "new_text": "",
                "attachments": "[]",
                "created_at": now,
            }
        )
    audit = {
        "at": now,
        "kind": "ticket_opened",
        "ticket_id": ticket_id,
        "inbox_id": inbox_id,
        "detail": json.dumps({"reasons": list(d.reasons)}, ensure_ascii=False),
    }
    return NewTicket(inbox_id, ticket, tuple(messages), outbox, audit, now, protection.sealed)


def _message_values(
    ticket_id: int, inbox_id: int, mail: ParsedMail, now: datetime
) -> dict[str, Any]:
    """A customer's message as a ticket_message row (as add_mail_message writes it)."""
    return {
        "ticket_id": ticket_id,
        "direction": "in",
        "kind": "customer",
        "message_id": mail.message_id,
        "inbox_id": inbox_id,
        "from_address": mail.from_address.lower(),
        "subject": mail.subject,
        "body": mail.text,
        "new_text": mail.new_text,
        "attachments": attachments_json(mail),
        "created_at": now,
    }


def _outbox_values(
    ticket_id: int, kind: str, seq: int, out: OutgoingMail, now: datetime
) -> dict[str, Any]:
    return {
        "ticket_id": ticket_id,
        "kind": kind,
        "seq": seq,
        "message_id": out.message_id,
        "sender": out.sender,
        "recipients": ",".join(r.lower() for r in out.recipients),
        "raw": out.raw,
        "status": OutboxStatus.PENDING,
        "next_attempt_at": now,
        "created_at": now,
    }


def _add_follow_up(
    s: Session,
    inbox_id: int,
    ticket_id: int,
    mail: ParsedMail,
    d: Decision,
    *,
    now: datetime,
    kind: str,
    renew: Renewal | None = None,
    protection: Protection = NOTHING_FOUND,
) -> str:
    ticket = s.get(Ticket, ticket_id)
    if ticket is None:
        raise LookupError(f"ticket {ticket_id} vanished")
    if kind == "follow_up" and ticket.status == TicketStatus.RESOLVED:
        ticket.status, ticket.resolved_at = TicketStatus.OPEN, None
        ticket.next_escalation_at = now
        if renew is not None:
            _renew_promise(s, ticket, renew, now)
    _flag(ticket, protection)
    s.add(ticket)
    _add_customer_message(s, ticket_id, inbox_id, mail, kind, now)
    _finish_inbox(s, inbox_id, ticket_id, now, protection.sealed)
    add_audit(s, now, kind, ticket_id, inbox_id, {"reasons": list(d.reasons)})
    s.flush()
    return ticket.ref


def _case_state_of(
    s: Session, ticket_id: int, now: datetime
) -> tuple[TicketView, CaseState] | None:
    ticket = s.get(Ticket, ticket_id)
    if ticket is None:
        return None
    last_in = s.exec(
        select(func.max(TicketMessage.created_at)).where(
            TicketMessage.ticket_id == ticket_id,
            TicketMessage.direction == "in",
            col(TicketMessage.kind).in_(("customer", "follow_up")),
        )
    ).one()
    recent = s.exec(
        select(func.count())
        .select_from(Outbox)
        .where(
            Outbox.ticket_id == ticket_id,
            Outbox.kind == "status",
            Outbox.created_at >= now - timedelta(hours=1),
        )
    ).one()
    return _view(ticket), _case_state(ticket, last_in, int(recent))


def _answer_status(
    s: Session,
    inbox_id: int,
    ticket_id: int,
    mail: ParsedMail,
    render: Callable[[int], OutgoingMail] | None,
    *,
    now: datetime,
    reason: str,
    protection: Protection,
) -> str:
    ticket = s.get(Ticket, ticket_id)
    if ticket is None:
        raise LookupError(f"ticket {ticket_id} vanished")
    _add_customer_message(s, ticket_id, inbox_id, mail, "status_request", now)
    if render is not None:
        seq = s.exec(
            select(func.count()).where(Outbox.ticket_id == ticket_id, Outbox.kind == "status")
        ).one()
        _add_outbox(s, ticket_id, "status", seq + 1, render(seq + 1), now)
    _flag(ticket, protection)
    s.add(ticket)
    _finish_inbox(s, inbox_id, ticket_id, now, protection.sealed)
    add_audit(s, now, "status_request", ticket_id, inbox_id, {"answered": reason or "yes"})
    s.flush()
    return ticket.ref


def _quarantine(s: Session, inbox_id: int, reason: str, *, now: datetime) -> None:
    # Only the status columns: loading the row would load its raw bytes too.
    table = InboxMessage.__table__  # type: ignore[attr-defined]
    changed = s.connection().execute(
        table.update()
        .where(table.c.id == inbox_id)
        .values(status=InboxStatus.QUARANTINED, reason=reason[:2000], processed_at=now)
    )
    if changed.rowcount == 0:
        return  # the row is gone
    add_audit(s, now, "quarantined", None, inbox_id, {"reason": reason[:2000]})
    s.flush()


class translate_db_errors:
    """Database outages and lock timeouts become TransientError (retry later)."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if isinstance(exc, OperationalError | InterfaceError):
            raise DatabaseUnavailable(f"database: {exc.orig}") from exc


def attachments_json(mail: ParsedMail) -> str:
    return json.dumps(
        [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in mail.attachments
        ],
        ensure_ascii=False,
    )
