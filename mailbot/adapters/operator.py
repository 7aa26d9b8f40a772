"""Operator access: quarantined messages, retrying them, re-parsing archived mail."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from mailbot.adapters.store import Store, add_audit, attachments_json, translate_db_errors
from mailbot.adapters.tables import InboxMessage, Ticket, TicketLabel, TicketMessage
from mailbot.core.protect import screen
from mailbot.domain import InboxStatus, ParsedMail


class QuarantineStore:
    """Operator access to quarantined messages and re-parsing of archived mail."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def _session(self) -> Session:
        return Session(self._store.engine, expire_on_commit=False)

    def quarantined(self, limit: int = 200) -> list[InboxMessage]:
        with translate_db_errors(), self._session() as s:
            return list(
                s.exec(
                    select(InboxMessage)
                    .where(InboxMessage.status == InboxStatus.QUARANTINED)
                    .order_by(col(InboxMessage.id))
                    .limit(limit)
                ).all()
            )

    def inbox_row(self, inbox_id: int) -> InboxMessage | None:
        with translate_db_errors(), self._session() as s:
            return s.get(InboxMessage, inbox_id)

    def retry(self, inbox_ids: Sequence[int] | None, *, now: datetime) -> list[int]:
        """Put quarantined rows (all when `inbox_ids` is None) back to 'received'.

        Rows without bytes (UIDs the server never gave us) cannot be retried from here.
        """
        with translate_db_errors(), self._session() as s:
            query = select(InboxMessage).where(
                InboxMessage.status == InboxStatus.QUARANTINED, InboxMessage.size > 0
            )
            if inbox_ids is not None:
                query = query.where(col(InboxMessage.id).in_(inbox_ids))
            rows = s.exec(query).all()
            for row in rows:
                add_audit(s, now, "quarantine_retry", None, row.id, {"reason": row.reason})
                row.status, row.reason, row.processed_at = InboxStatus.RECEIVED, "", None
                s.add(row)
            s.commit()
            return [r.id or 0 for r in rows]

    def reparse_ticket(
        self, ref: str, parse_raw: Callable[[bytes], ParsedMail], *, now: datetime
    ) -> int:
        """Rebuild the stored parse of a ticket's incoming messages from their raw bytes,
        redacted as processing does."""
        with translate_db_errors(), self._session() as s:
            ticket = s.exec(select(Ticket).where(Ticket.ref == ref)).first()
            if ticket is None:
                raise LookupError(ref)
            messages = s.exec(
                select(TicketMessage).where(
                    TicketMessage.ticket_id == ticket.id, col(TicketMessage.inbox_id).is_not(None)
                )
            ).all()
            for message in messages:
                inbox = s.get(InboxMessage, message.inbox_id)
                if inbox is None or not inbox.raw or inbox.raw_state:
                    continue  # sealed: it held a secret, and its stored text is the redacted one
                _refresh_message(message, screen(parse_raw(inbox.raw), ())[0])
                s.add(message)
            add_audit(s, now, "reparsed", ticket.id, None, {"messages": len(messages)})
            s.commit()
            return len(messages)


def _refresh_message(message: TicketMessage, mail: ParsedMail) -> None:
    message.subject, message.body, message.new_text = mail.subject, mail.text, mail.new_text
    message.attachments = attachments_json(mail)


def record_label(
    store: Store, ref: str, category: str, urgency: str | None, *, now: datetime
) -> tuple[str, str]:
    """Store an operator's correction of ticket `ref`; returns the (category, urgency) kept."""
    with translate_db_errors(), Session(store.engine) as s:
        ticket = s.exec(select(Ticket).where(Ticket.ref == ref)).first()
        if ticket is None or ticket.id is None:
            raise LookupError(ref)
        label = TicketLabel(
            ticket_id=ticket.id,
            category=category,
            urgency=urgency or ticket.urgency,
            labelled_at=now,
        )
        s.add(label)
        add_audit(
            s,
            now,
            "labelled",
            ticket.id,
            None,
            {"from": [ticket.category, ticket.urgency], "to": [label.category, label.urgency]},
        )
        s.commit()
        return label.category, label.urgency


def labelled_examples(store: Store) -> list[tuple[str, str, str, str, str]]:
    """(subject, text, category, urgency, language) of every corrected ticket, newest label
    per ticket; the text is the customer's first message (new text, else the full body)."""
    with translate_db_errors(), Session(store.engine) as s:
        latest: dict[int, TicketLabel] = {}
        for label in s.exec(select(TicketLabel).order_by(col(TicketLabel.id))):
            latest[label.ticket_id] = label
        out = []
        for ticket_id, label in latest.items():
            ticket = s.get(Ticket, ticket_id)
            first = s.exec(
                select(TicketMessage)
                .where(TicketMessage.ticket_id == ticket_id, TicketMessage.direction == "in")
                .order_by(col(TicketMessage.id))
            ).first()
            if ticket is None or first is None:
                continue
            text = first.new_text or first.body
            out.append((ticket.subject, text, label.category, label.urgency, ticket.language))
        return out
