"""Loads what the report needs for one period: counts grouped in SQL, durations as values.

Only the columns the figures need are read (never message bodies or raw bytes), so a
report over 100,000 tickets reads a few small columns, not the mail.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, case, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlmodel import col

from mailbot.adapters.tables import EscalationRow, InboxMessage, Outbox, Ticket
from mailbot.core.report import LATE, MET, OVERDUE, PENDING, QuarantinedMessage, ReportRows
from mailbot.domain import InboxStatus, OutboxStatus
from mailbot.errors import TransientError

_ACK = "ack"
# When a ticket has several acknowledgement rows, the best one counts: sent, pending, dead.
_ACK_RANK = {OutboxStatus.SENT.value: 3, OutboxStatus.PENDING.value: 2, OutboxStatus.DEAD.value: 1}


def load_report_rows(
    engine: Engine, *, since: datetime, until: datetime, now: datetime
) -> ReportRows:
    """Every row the report needs for tickets received in [since, until)."""
    try:
        with engine.connect() as conn:
            return _load(conn, since, until, now)
    except OperationalError as exc:
        raise TransientError(f"database unavailable: {exc.orig}") from exc


def _load(conn: Connection, since: datetime, until: datetime, now: datetime) -> ReportRows:
    received = col(Ticket.received_at)
    in_period = and_(received >= since, received < until)
    mix = _mix(conn, in_period)
    return ReportRows(
        by_category=_sum_by(mix, 0),
        by_urgency=_sum_by(mix, 1),
        by_language=_sum_by(mix, 2),
        by_status=_sum_by(mix, 3),
        needs_triage=sum(n for key, n in mix.items() if key[4]),
        per_day=_per_day(conn, in_period),
        sla=_sla(conn, in_period, now),
        answered=_answered(conn, in_period),
        ack_seconds=_ack_seconds(conn, in_period),
        ack_status=_ack_status(conn, in_period),
        confidences=list(conn.scalars(select(col(Ticket.confidence)).where(in_period))),
        subjects=_subjects(conn, in_period),
        escalations=_escalations(conn, in_period),
        quarantined=_quarantined(conn, since, until),
    )


def _mix(conn: Connection, in_period: ColumnElement[bool]) -> Counter[tuple[Any, ...]]:
    """Tickets per (category, urgency, language, status, needs_triage): one scan."""
    keys = (
        col(Ticket.category),
        col(Ticket.urgency),
        col(Ticket.language),
        col(Ticket.status),
        col(Ticket.needs_triage),
    )
    query = select(*keys, func.count()).where(in_period).group_by(*keys)
    return Counter({tuple(row[:-1]): int(row[-1]) for row in conn.execute(query)})


def _sum_by(mix: Counter[tuple[Any, ...]], index: int) -> dict[str, int]:
    out: Counter[str] = Counter()
    for key, n in mix.items():
        out[str(key[index])] += n
    return dict(out)


def _per_day(conn: Connection, in_period: ColumnElement[bool]) -> list[tuple[date, str, int]]:
    # date() is SQLite's and PostgreSQL's; the stored value is UTC, so the day is the UTC day.
    day = func.date(col(Ticket.received_at))
    query = (
        select(day, col(Ticket.urgency), func.count())
        .where(in_period)
        .group_by(day, col(Ticket.urgency))
    )
    return [(date.fromisoformat(str(d)[:10]), u, int(n)) for d, u, n in conn.execute(query)]


def _sla(
    conn: Connection, in_period: ColumnElement[bool], now: datetime
) -> list[tuple[str, str, int]]:
    """Tickets per (urgency, outcome) under core.report.SLA_RULE."""
    due = col(Ticket.first_response_due)
    response = func.coalesce(col(Ticket.first_response_at), col(Ticket.resolved_at))
    outcome = case(
        (and_(response.is_not(None), response <= due), MET),
        (response.is_not(None), LATE),
        (due < now, OVERDUE),
        else_=PENDING,
    )
    # Grouped in an outer query: PostgreSQL would not match a CASE with bound parameters in
    # GROUP BY to the same CASE in the select list.
    judged = (
        select(col(Ticket.urgency).label("urgency"), outcome.label("outcome"))
        .where(in_period)
        .subquery()
    )
    query = select(judged.c.urgency, judged.c.outcome, func.count()).group_by(
        judged.c.urgency, judged.c.outcome
    )
    return [(u, str(o), int(n)) for u, o, n in conn.execute(query)]


def _seconds(conn: Connection, later: Any, earlier: Any) -> ColumnElement[Any]:
    """later - earlier in seconds, computed by the database (reading 100,000 timestamps
    into Python objects took most of a report's time)."""
    if conn.dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def _answered(conn: Connection, in_period: ColumnElement[bool]) -> list[tuple[float, float]]:
    """(seconds to the first response, seconds promised) per answered ticket."""
    received, first = col(Ticket.received_at), col(Ticket.first_response_at)
    query = select(
        _seconds(conn, first, received), _seconds(conn, col(Ticket.first_response_due), received)
    ).where(in_period, first.is_not(None))
    return [(float(took), float(promised)) for took, promised in conn.execute(query)]


def _ack_seconds(conn: Connection, in_period: ColumnElement[bool]) -> list[float]:
    """Seconds from receipt to the first acknowledgement sent, per acknowledged ticket."""
    query = (
        select(func.min(_seconds(conn, col(Outbox.sent_at), col(Ticket.received_at))))
        .select_from(Ticket)
        .join(Outbox, col(Outbox.ticket_id) == col(Ticket.id))
        .where(in_period, col(Outbox.kind) == _ACK, col(Outbox.sent_at).is_not(None))
        .group_by(col(Ticket.id))
    )
    return [float(took) for took in conn.scalars(query)]


def _ack_status(conn: Connection, in_period: ColumnElement[bool]) -> dict[str, int]:
    """Tickets per state of their acknowledgement; tickets without one are not here."""
    rank = case(*((col(Outbox.status) == status, n) for status, n in _ACK_RANK.items()), else_=0)
    best = (
        select(func.max(rank).label("rank"))
        .join(Ticket, col(Outbox.ticket_id) == col(Ticket.id))
        .where(in_period, col(Outbox.kind) == _ACK)
        .group_by(col(Outbox.ticket_id))
        .subquery()
    )
    names = {n: status for status, n in _ACK_RANK.items()} | {0: "other"}
    query = select(best.c.rank, func.count()).group_by(best.c.rank)
    return {names[int(r)]: int(n) for r, n in conn.execute(query)}


def _subjects(conn: Connection, in_period: ColumnElement[bool]) -> list[tuple[str, int]]:
    subject = col(Ticket.subject)
    query = select(subject, func.count()).where(in_period).group_by(subject)
    return [(s, int(n)) for s, n in conn.execute(query)]


def _escalations(conn: Connection, in_period: ColumnElement[bool]) -> list[tuple[int, int, int]]:
    level = col(EscalationRow.level)
    query = (
        select(level, func.count(), func.count(func.distinct(col(EscalationRow.ticket_id))))
        .join(Ticket, col(EscalationRow.ticket_id) == col(Ticket.id))
        .where(in_period)
        .group_by(level)
    )
    return [(int(lv), int(n), int(t)) for lv, n, t in conn.execute(query)]


def _quarantined(conn: Connection, since: datetime, until: datetime) -> list[QuarantinedMessage]:
    """Messages fetched in the period that are in quarantine now (without their bytes)."""
    fetched = col(InboxMessage.fetched_at)
    query = select(
        col(InboxMessage.id), fetched, col(InboxMessage.message_id), col(InboxMessage.reason)
    ).where(col(InboxMessage.status) == InboxStatus.QUARANTINED, fetched >= since, fetched < until)
    return [QuarantinedMessage(i or 0, f, m, r) for i, f, m, r in conn.execute(query)]
