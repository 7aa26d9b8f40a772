"""Which escalations a ticket has earned by `now`, and when it earns the next one.

Two chains per ticket, each a ladder of levels:
- first response: runs until an agent first answers;
- resolution: runs until the ticket is resolved.
Level 0 is the warning, at `warn_fraction` of the way from received to due. Level 1 and up
are the policy's steps, each `after` the breach (level 1 usually at the breach itself).
An event is identified by (ticket, target, level, due): recording it is idempotent, so a scan
may be repeated, overlap another or follow a crash without losing or repeating one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"


@dataclass(frozen=True, slots=True)
class Step:
    level: int
    after: timedelta  # after the breach
    notify: tuple[str, ...] = ()  # email addresses
    webhook: str = ""  # a URL that gets a JSON POST


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    warn_fraction: float = 0.75
    warn_notify: tuple[str, ...] = ()
    steps: tuple[Step, ...] = (Step(1, timedelta(0)),)

    def recipients(self, level: int) -> tuple[tuple[str, ...], str]:
        if level == 0:
            return self.warn_notify, ""
        step = next(s for s in self.steps if s.level == level)
        return step.notify, step.webhook


@dataclass(frozen=True, slots=True)
class TicketTimes:
    ticket_id: int
    received_at: datetime
    first_response_due: datetime
    resolution_due: datetime | None
    first_response_at: datetime | None
    resolved: bool


@dataclass(frozen=True, slots=True)
class Event:
    ticket_id: int
    target: str  # FIRST_RESPONSE | RESOLUTION
    level: int
    due_at: datetime  # the promise this event is about
    fires_at: datetime

    def describe(self, now: datetime) -> str:
        what = "first response" if self.target == FIRST_RESPONSE else "resolution"
        if self.level == 0:
            return f"{what} due {self.due_at:%Y-%m-%d %H:%M} UTC, in {_span(self.due_at - now)}"
        return f"{what} overdue by {_span(now - self.due_at)} (level {self.level})"


def events(ticket: TicketTimes, policy: EscalationPolicy) -> Iterator[Event]:
    """Every event of the chains still running, in no particular order."""
    chains = []
    if ticket.first_response_at is None and not ticket.resolved:
        chains.append((FIRST_RESPONSE, ticket.first_response_due))
    if ticket.resolution_due is not None and not ticket.resolved:
        chains.append((RESOLUTION, ticket.resolution_due))
    for target, due in chains:
        window = max(due - ticket.received_at, timedelta(0))
        yield Event(
            ticket.ticket_id, target, 0, due, ticket.received_at + policy.warn_fraction * window
        )
        for step in policy.steps:
            yield Event(ticket.ticket_id, target, step.level, due, due + step.after)


def plan(
    ticket: TicketTimes, policy: EscalationPolicy, now: datetime
) -> tuple[list[Event], datetime | None]:
    """(events due by `now`, when the next one is due or None when the chains are done).

    Every due level fires (each tells different people). A warning that is only seen once
    its chain has already breached (a scan after downtime) is dropped: the breach says more.
    """
    all_events = list(events(ticket, policy))
    due = [e for e in all_events if e.fires_at <= now]
    breached = {e.target for e in due if e.level > 0}
    fire = [e for e in due if e.level > 0 or e.target not in breached]
    later = [e.fires_at for e in all_events if e.fires_at > now]
    return sorted(fire, key=lambda e: (e.target, e.level)), min(later, default=None)


def _span(delta: timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 0)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
