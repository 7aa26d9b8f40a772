"""What happens to a ticket after it is opened: agents answer, close, re-open and assign it,
and the escalation scan records what it has earned. Each method is one transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from mailbot.adapters.store import (
    _add_outbox,
    _finish_inbox,
    add_audit,
    add_mail_message,
    translate_db_errors,
)
from mailbot.adapters.tables import EscalationRow, Ticket, TicketMessage
from mailbot.core.escalation import Event, TicketTimes
from mailbot.core.render import DigestFacts, opening_lines
from mailbot.core.secrets import redact
from mailbot.domain import OutgoingMail, ParsedMail, TicketStatus


class UnknownTicket(LookupError):
    pass


def record_agent_reply(
    s: Session,
    inbox_id: int,
    ticket_id: int,
    mail: ParsedMail,
    *,
    now: datetime,
    close: bool,
    sealed: tuple[bytes, str] | None = None,
) -> str:
    """Workflow.agent_reply inside the caller's transaction (the processing batch's)."""
    ticket = s.get(Ticket, ticket_id)
    if ticket is None:
        raise LookupError(f"ticket {ticket_id} vanished")
    _mark_responded(ticket, min(mail.date or now, now))
    if close:
        ticket.status, ticket.resolved_at = TicketStatus.RESOLVED, now
        ticket.next_escalation_at = None
    s.add(ticket)
    add_mail_message(s, ticket_id, inbox_id, mail, "agent", now, direction="out")
    _finish_inbox(s, inbox_id, ticket_id, now, sealed)
    add_audit(s, now, "agent_reply", ticket_id, inbox_id, {"closed": close})
    s.flush()
    return ticket.ref


@dataclass(frozen=True, slots=True)
class PendingWebhook:
    id: int
    url: str
    payload: dict[str, object]


class Workflow:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # --- agents -------------------------------------------------------------------------
    def respond(self, ref: str, *, now: datetime, by: str = "cli") -> Ticket:
        """An agent answered (outside mailbot's sight): the first-response promise is kept."""
        return self._change(ref, now, "responded", {"by": by}, _mark_responded)

    def close(self, ref: str, *, now: datetime, by: str = "cli") -> Ticket:
        def resolve(t: Ticket, at: datetime) -> None:
            t.status, t.resolved_at, t.next_escalation_at = TicketStatus.RESOLVED, at, None

        return self._change(ref, now, "closed", {"by": by}, resolve)

    def reopen(self, ref: str, *, now: datetime, by: str = "cli") -> Ticket:
        def reopen(t: Ticket, at: datetime) -> None:
            t.status, t.resolved_at, t.next_escalation_at = TicketStatus.OPEN, None, at

        return self._change(ref, now, "reopened", {"by": by}, reopen)

    def assign(self, ref: str, who: str, *, now: datetime) -> Ticket:
        def assign(t: Ticket, _at: datetime) -> None:
            t.assignee = who

        return self._change(ref, now, "assigned", {"to": who}, assign)

    def _change(
        self,
        ref: str,
        now: datetime,
        event: str,
        detail: dict[str, object],
        change: Callable[[Ticket, datetime], None],
    ) -> Ticket:
        with translate_db_errors(), self._session() as s:
            ticket = s.exec(select(Ticket).where(Ticket.ref == ref)).first()
            if ticket is None:
                raise UnknownTicket(f"no ticket {ref}")
            change(ticket, now)
            s.add(ticket)
            add_audit(s, now, event, ticket.id, None, detail)
            s.commit()
            return ticket

    def agent_reply(
        self,
        inbox_id: int,
        ticket_id: int,
        mail: ParsedMail,
        *,
        now: datetime,
        close: bool,
        sealed: tuple[bytes, str] | None = None,
    ) -> str:
        """Mail from an agent (Sent folder, or an agent address) that threads to a ticket."""
        with translate_db_errors(), self._session() as s:
            ref = record_agent_reply(
                s, inbox_id, ticket_id, mail, now=now, close=close, sealed=sealed
            )
            s.commit()
            return ref

    # --- escalation ---------------------------------------------------------------------
    def due_for_escalation(self, now: datetime, limit: int = 500) -> list[TicketTimes]:
        """Open tickets whose next escalation check is due: an indexed range scan."""
        with translate_db_errors(), self._session() as s:
            rows = s.exec(
                select(Ticket)
                .where(col(Ticket.next_escalation_at) <= now)
                .order_by(col(Ticket.next_escalation_at))
                .limit(limit)
            ).all()
            return [ticket_times(t) for t in rows]

    def record_escalations(
        self,
        ticket_id: int,
        events: Sequence[Event],
        next_at: datetime | None,
        *,
        now: datetime,
        digest: Callable[[Event, DigestFacts, int], OutgoingMail | None],
        webhook: Callable[[Event], str],
    ) -> list[Event]:
        """Record the events not yet recorded, each with its digest in the outbox, and the
        next check time — one transaction. Returns the events recorded now. A concurrent
        scan that recorded one first makes this one roll back and record nothing."""
        try:
            with translate_db_errors(), self._session() as s:
                ticket = s.get(Ticket, ticket_id)
                if ticket is None:
                    return []
                known = {
                    (e.target, e.level, e.due_at)
                    for e in s.exec(
                        select(EscalationRow).where(EscalationRow.ticket_id == ticket_id)
                    ).all()
                }
                fresh = [e for e in events if (e.target, e.level, e.due_at) not in known]
                facts = _facts(s, ticket) if fresh else None
                for event in fresh:
                    row = EscalationRow(
                        ticket_id=ticket_id,
                        target=event.target,
                        level=event.level,
                        due_at=event.due_at,
                        reason=event.describe(now),
                        created_at=now,
                        webhook=webhook(event),
                    )
                    s.add(row)
                    s.flush()  # the row id numbers the digest's outbox key
                    assert facts is not None and row.id is not None
                    out = digest(event, facts, row.id)
                    if out is not None:
                        _add_outbox(
                            s, ticket_id, f"esc-{event.target}-{event.level}", row.id, out, now
                        )
                    ticket.escalation_level = max(ticket.escalation_level, event.level)
                    add_audit(s, now, "escalated", ticket_id, None, {"reason": row.reason})
                ticket.next_escalation_at = next_at
                s.add(ticket)
                s.commit()
                return fresh
        except IntegrityError:
            return []

    def pending_webhooks(self, limit: int = 100) -> list[PendingWebhook]:
        with translate_db_errors(), self._session() as s:
            rows = s.exec(
                select(EscalationRow, Ticket)
                .join(Ticket, col(Ticket.id) == EscalationRow.ticket_id)
                .where(EscalationRow.webhook != "", col(EscalationRow.webhook_sent_at).is_(None))
                .limit(limit)
            ).all()
            return [
                PendingWebhook(
                    e.id or 0,
                    e.webhook,
                    {
                        "ref": t.ref,
                        "target": e.target,
                        "level": e.level,
                        "due_at": e.due_at.isoformat(),
                        "reason": e.reason,
                        "category": t.category,
                        "urgency": t.urgency,
                        "language": t.language,
                        "assignee": t.assignee,
                        "text": f"[{t.ref}] {e.reason}",
                    },
                )
                for e, t in rows
            ]

    def mark_webhook(self, escalation_id: int, *, error: str, now: datetime) -> None:
        with translate_db_errors(), self._session() as s:
            row = s.get(EscalationRow, escalation_id)
            if row is None:
                return
            if error:
                row.webhook_error = error[:500]
            else:
                row.webhook_sent_at, row.webhook_error = now, ""
            s.add(row)
            s.commit()


def ticket_times(t: Ticket) -> TicketTimes:
    """The escalation core's view of the ticket's current promise: after a customer re-opened
    it, the promise counts from the re-opening and only a later agent reply answers it."""
    start = t.promise_start or t.received_at
    answered = t.last_response_at or t.first_response_at
    return TicketTimes(
        ticket_id=t.id or 0,
        received_at=start,
        first_response_due=t.first_response_due,
        resolution_due=t.resolution_due,
        first_response_at=answered if answered is not None and answered >= start else None,
        resolved=t.status != TicketStatus.OPEN,
    )


def _mark_responded(ticket: Ticket, at: datetime) -> None:
    if ticket.first_response_at is None:
        ticket.first_response_at = at
    if ticket.last_response_at is None or at > ticket.last_response_at:
        ticket.last_response_at = at
    ticket.next_escalation_at = at  # the first-response chain ends; the resolution one goes on


def _facts(s: Session, ticket: Ticket) -> DigestFacts:
    first = s.exec(
        select(TicketMessage)
        .where(TicketMessage.ticket_id == ticket.id, TicketMessage.direction == "in")
        .order_by(col(TicketMessage.id))
    ).first()
    text = (first.new_text or first.body) if first is not None else ""
    # Stored text is redacted when it arrives; this also covers tickets from before that.
    text = redact(text).text
    return DigestFacts(
        ref=ticket.ref,
        customer=ticket.customer_address,
        subject=ticket.subject,
        category=ticket.category,
        urgency=ticket.urgency,
        language=ticket.language,
        assignee=ticket.assignee,
        opening_lines=opening_lines(text),
    )
