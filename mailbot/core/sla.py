"""Due-time math: response windows counted in a business calendar, and overdue tickets.

Windows are counted in *open* time: a 4-hour window received at 17:00 on a 09:00-18:00 day
uses one hour today and three tomorrow morning. Boundaries are wall-clock times in the
calendar's timezone (so opening hours survive DST changes); the time in between is counted
as real elapsed time (so a DST night never adds or loses an hour of work). A 24/7 window is
plain wall-clock addition.
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mailbot.domain import Promise

# Minutes since local midnight, 0 <= start < end <= 1440: (540, 1080) is 09:00-18:00,
# (0, 1440) a whole day.
Interval = tuple[int, int]

# How far ahead a window may reach before the calendar is declared broken (a window that
# never fits would otherwise loop forever, e.g. every day closed).
_MAX_DAYS = 3 * 366


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """When the team works. `closed` holds local dates (public holidays, custom closures)."""

    timezone: ZoneInfo
    hours: Mapping[int, tuple[Interval, ...]]  # weekday (0 = Monday) -> open intervals
    closed: Container[date] = frozenset()

    def open_intervals(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """The day's open intervals as aware UTC datetimes (empty on closed days)."""
        if day in self.closed:
            return
        for start, end in self.hours.get(day.weekday(), ()):
            yield self._at(day, start), self._at(day, end)

    def _at(self, day: date, minutes: int) -> datetime:
        # A wall-clock time that a DST jump skips maps, as zoneinfo does, to the instant it
        # would have been before the jump: an opening time of 02:30 on that day opens at 03:30.
        local = datetime.combine(day + timedelta(days=minutes // 1440), time(), self.timezone)
        wall = local.replace(hour=(minutes % 1440) // 60, minute=minutes % 60)
        return wall.astimezone(UTC)


ALWAYS_OPEN = BusinessCalendar(ZoneInfo("UTC"), {d: ((0, 1440),) for d in range(7)})


def add_open_time(received: datetime, window: timedelta, calendar: BusinessCalendar) -> datetime:
    """The instant at which `window` of open time has passed since `received` (UTC)."""
    if received.tzinfo is None:
        raise ValueError("received must be timezone-aware")
    if window < timedelta(0):
        raise ValueError("window must not be negative")
    cursor = received.astimezone(UTC)
    remaining = window
    day = cursor.astimezone(calendar.timezone).date()
    for _ in range(_MAX_DAYS):
        for start, end in calendar.open_intervals(day):
            begin = max(start, cursor)
            if begin >= end:
                continue
            if remaining <= end - begin:
                return begin + remaining
            remaining -= end - begin
            cursor = end
        day += timedelta(days=1)
    raise ValueError(f"the calendar has no room for a window of {window} within {_MAX_DAYS} days")


@dataclass(frozen=True, slots=True)
class Windows:
    """Hours per urgency; an urgency missing here falls through to the next layer."""

    first_response: Mapping[str, float] = field(default_factory=dict)
    resolution: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SenderGroup:
    """E.g. VIPs: addresses (`ceo@fund.example`) and domains (`@fund.example`)."""

    name: str
    senders: frozenset[str]
    windows: Windows

    def matches(self, address: str) -> bool:
        address = address.lower()
        return address in self.senders or "@" + address.rpartition("@")[2] in self.senders


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    defaults: Windows
    calendar: BusinessCalendar
    always_open: frozenset[str] = frozenset({"critical"})  # urgencies counted 24/7
    categories: Mapping[str, Windows] = field(default_factory=dict)
    groups: tuple[SenderGroup, ...] = ()


def promise(
    policy: SlaPolicy,
    *,
    received: datetime,
    category: str,
    urgency: str,
    sender: str,
    mailbox: Windows | None = None,
) -> Promise:
    """The first-response and resolution due times of a new ticket, and where they came from.

    The most specific layer that names the urgency wins: sender group, then category, then
    the mailbox's own windows, then the defaults.
    """
    layers: list[tuple[str, Windows]] = [
        (f"sender group {g.name}", g.windows) for g in policy.groups if g.matches(sender)
    ]
    if category in policy.categories:
        layers.append((f"category {category}", policy.categories[category]))
    if mailbox is not None:
        layers.append(("mailbox", mailbox))
    layers.append(("default", policy.defaults))
    first_source, first_hours = _pick(layers, "first_response", urgency)
    _, resolution_hours = _pick(layers, "resolution", urgency)
    always_open = urgency in policy.always_open
    calendar = ALWAYS_OPEN if always_open else policy.calendar
    return Promise(
        first_response_due=add_open_time(received, timedelta(hours=first_hours), calendar),
        resolution_due=add_open_time(received, timedelta(hours=resolution_hours), calendar),
        first_response_hours=first_hours,
        always_open=always_open,
        timezone=policy.calendar.timezone.key,
        source=f"{urgency} window {first_hours:g} h from {first_source}"
        + (", 24/7" if always_open else f", business hours ({policy.calendar.timezone.key})"),
    )


def _pick(layers: list[tuple[str, Windows]], kind: str, urgency: str) -> tuple[str, float]:
    for source, windows in layers:
        hours: Mapping[str, float] = getattr(windows, kind)
        if urgency in hours:
            return source, float(hours[urgency])
    raise ValueError(f"no {kind} window for urgency {urgency!r}")
