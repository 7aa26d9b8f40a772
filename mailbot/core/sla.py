"""Due-time math. Wall-clock windows for now; business calendars arrive with the SLA issue."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from mailbot.domain import Escalation


def first_response_due(
    received: datetime, urgency: str, windows_hours: Mapping[str, float]
) -> datetime:
    """When the first response is due: received + the window of the urgency."""
    if received.tzinfo is None:
        raise ValueError("received must be timezone-aware")
    return received + timedelta(hours=windows_hours[urgency])


def overdue(tickets: Iterable[tuple[int, datetime, int]], *, now: datetime) -> list[Escalation]:
    """Level-1 escalations for (ticket_id, first_response_due, level) past due and not escalated."""
    return [
        Escalation(ticket_id, 1, due, f"first response overdue since {due.isoformat()}")
        for ticket_id, due, level in tickets
        if due <= now and level < 1
    ]
