"""Due-time math: hand-worked cases, then the invariants as properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.core.sla import (
    ALWAYS_OPEN,
    BusinessCalendar,
    SenderGroup,
    SlaPolicy,
    Windows,
    add_open_time,
    promise,
)
from mailbot.settings import SlaSettings

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")
KR = SlaSettings(timezone="Asia/Seoul", holidays=["KR"]).policy()
NINE_TO_SIX = {d: ((540, 1080),) for d in range(5)}


def kst(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SEOUL)


# (what, received, urgency, due) — due times worked out by hand, 09:00-18:00 Mon-Fri KST.
HAND_WORKED = [
    (
        # 0.5 h Friday; Sat-Sun; Chuseok Mon 16-Wed 18; Thu 19 9 h (9.5); Fri 20 9 h (18.5);
        # Mon 23 5.5 h from 09:00.
        "normal, Friday 17:30 before Chuseok 2024",
        kst(2024, 9, 13, 17, 30),
        "normal",
        kst(2024, 9, 23, 14, 30),
    ),
    (
        # Foundation Day Fri 3, weekend, Chuseok Sun 5-Tue 7 + substitute Wed 8, Hangul Day
        # Thu 9: a holiday run spanning the weekend. 0.5 h Thu 2; Fri 10 9 h; Mon 13 9 h; Tue
        # 14 5.5 h.
        "normal, Thursday 17:30 before the 2025 Chuseok week",
        kst(2025, 10, 2, 17, 30),
        "normal",
        kst(2025, 10, 14, 14, 30),
    ),
    ("high at 08:59 on a working day", kst(2026, 11, 24, 8, 59), "high", kst(2026, 11, 24, 13)),
    ("high at 17:00 Friday", kst(2026, 11, 20, 17), "high", kst(2026, 11, 23, 12)),
    ("high at 18:00 exactly", kst(2026, 11, 24, 18), "high", kst(2026, 11, 25, 13)),
    ("critical is 24/7: Saturday 03:00", kst(2026, 11, 21, 3), "critical", kst(2026, 11, 21, 4)),
    (
        "low: 72 h = 8 working days, ends at 18:00",
        kst(2026, 11, 23, 9),
        "low",
        kst(2026, 12, 2, 18),
    ),
]


@pytest.mark.parametrize(("what", "received", "urgency", "due"), HAND_WORKED)
def test_hand_worked_due_times(what: str, received: datetime, urgency: str, due: datetime) -> None:
    got = promise(KR, received=received, category="trading", urgency=urgency, sender="a@x.example")
    assert got.first_response_due == due, what


def test_dst_boundaries_are_wall_clock_and_the_time_between_is_real() -> None:
    ny = BusinessCalendar(NEW_YORK, NINE_TO_SIX)
    # Friday 17:00 EST; DST starts Sunday 8 March 2026; Monday opens 09:00 EDT.
    due = add_open_time(datetime(2026, 3, 6, 17, tzinfo=NEW_YORK), timedelta(hours=4), ny)
    assert due == datetime(2026, 3, 9, 12, tzinfo=NEW_YORK)
    assert due.astimezone(UTC).hour == 16  # 12:00 EDT, not 12:00 EST
    # A day open around the clock on the 23-hour Sunday gives 23 hours, not 24.
    sundays = BusinessCalendar(NEW_YORK, {6: ((0, 1440),)})
    due = add_open_time(datetime(2026, 3, 8, tzinfo=NEW_YORK), timedelta(hours=24), sundays)
    assert due == datetime(2026, 3, 15, 1, tzinfo=NEW_YORK)
    # 24/7 across the jump: one real hour after 01:30 EST is 03:30 EDT.
    due = add_open_time(
        datetime(2026, 3, 8, 1, 30, tzinfo=NEW_YORK), timedelta(hours=1), ALWAYS_OPEN
    )
    assert due.astimezone(NEW_YORK).hour == 3 and due.astimezone(NEW_YORK).minute == 30


def test_vip_group_then_category_then_mailbox_then_default() -> None:
    vip = SenderGroup(
        "vip", frozenset({"@fund.example", "ceo@big.example"}), Windows({"normal": 2})
    )
    policy = SlaPolicy(
        defaults=Windows({"normal": 24, "high": 4}, {"normal": 72, "high": 24}),
        calendar=ALWAYS_OPEN,
        categories={"trading": Windows({"normal": 8})},
        groups=(vip,),
    )
    at = datetime(2026, 11, 24, tzinfo=UTC)

    def hours(sender: str, category: str, mailbox: Windows | None = None) -> float:
        return promise(
            policy, received=at, category=category, urgency="normal", sender=sender, mailbox=mailbox
        ).first_response_hours

    assert hours("Trader@Fund.Example", "trading") == 2
    assert hours("CEO@big.example", "technical") == 2
    assert hours("someone@big.example", "trading") == 8
    assert hours("someone@big.example", "technical", Windows({"normal": 12})) == 12
    assert hours("someone@big.example", "technical") == 24
    p = promise(policy, received=at, category="trading", urgency="high", sender="x@y.example")
    assert p.resolution_due == at + timedelta(hours=24)  # trading names no high window


def test_settings_reject_malformed_calendars() -> None:
    for bad in (
        {"timezone": "Mars/Olympus"},
        {"holidays": ["XX"]},
        {"working_hours": {"mon": "9-18"}},
        {"working_hours": {"mon": "18:00-09:00"}},
        {"working_hours": {"mon": "09:00-13:00,12:00-18:00"}},
        {"working_hours": {"funday": "09:00-18:00"}},
        {"first_response_hours": {"normal": 0}},
    ):
        with pytest.raises(ValueError):
            SlaSettings(**bad)


def test_a_calendar_without_room_is_an_error_not_a_hang() -> None:
    never = BusinessCalendar(SEOUL, {})
    with pytest.raises(ValueError, match="no room"):
        add_open_time(kst(2026, 1, 1), timedelta(hours=1), never)


# --- properties --------------------------------------------------------------------------

ZONES = ["Asia/Seoul", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "UTC"]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    hours: dict[int, tuple[tuple[int, int], ...]] = {}
    for day in range(7):
        cuts = sorted(draw(st.sets(st.integers(0, 48), max_size=4)))
        cuts = [c * 30 for c in cuts[: len(cuts) // 2 * 2]]
        hours[day] = tuple((a, b) for a, b in zip(cuts[::2], cuts[1::2], strict=True) if a < b)
    if sum(end - start for day in hours.values() for start, end in day) < 240:
        hours[0] = ((540, 1080),)  # sparser weeks cannot fit 200 h in three years: an error
    closed = frozenset(draw(st.sets(st.dates(date(2025, 1, 1), date(2027, 12, 31)), max_size=20)))
    return BusinessCalendar(zone, hours, closed)


instants = st.datetimes(datetime(2025, 1, 1), datetime(2026, 12, 31), timezones=st.just(UTC))
windows = st.integers(0, 200 * 60).map(lambda m: timedelta(minutes=m))


def open_time_between(a: datetime, b: datetime, cal: BusinessCalendar) -> timedelta:
    """The oracle: total overlap of [a, b] with the calendar's open intervals."""
    total = timedelta(0)
    day = a.astimezone(cal.timezone).date() - timedelta(days=1)
    while day <= b.astimezone(cal.timezone).date() + timedelta(days=1):
        for start, end in cal.open_intervals(day):
            total += max(timedelta(0), min(end, b) - max(start, a))
        day += timedelta(days=1)
    return total


def is_open_at(moment: datetime, cal: BusinessCalendar) -> bool:
    day = moment.astimezone(cal.timezone).date()
    return any(
        start <= moment <= end
        for d in (day - timedelta(days=1), day, day + timedelta(days=1))
        for start, end in cal.open_intervals(d)
    )


@settings(max_examples=300, deadline=None)
@given(calendars(), instants, windows)
def test_due_is_after_received_and_never_in_closed_hours(
    cal: BusinessCalendar, received: datetime, window: timedelta
) -> None:
    due = add_open_time(received, window, cal)
    assert due >= received
    assert is_open_at(due, cal)
    assert open_time_between(received, due, cal) == window


@settings(max_examples=200, deadline=None)
@given(calendars(), instants, windows, windows)
def test_a_longer_window_never_gives_an_earlier_due_time(
    cal: BusinessCalendar, received: datetime, w1: timedelta, w2: timedelta
) -> None:
    short, long = sorted((w1, w2))
    assert add_open_time(received, short, cal) <= add_open_time(received, long, cal)


@settings(max_examples=200, deadline=None)
@given(instants, windows, st.sampled_from(ZONES))
def test_24_7_is_wall_clock_addition(received: datetime, window: timedelta, zone: str) -> None:
    local = received.astimezone(ZoneInfo(zone))
    assert add_open_time(local, window, ALWAYS_OPEN) == received + window


@settings(max_examples=100, deadline=None)
@given(instants, st.sampled_from(["high", "normal", "low"]))
def test_korean_holidays_are_never_working_time(received: datetime, urgency: str) -> None:
    due = promise(KR, received=received, category="x", urgency=urgency, sender="a@b.c")
    local = due.first_response_due.astimezone(SEOUL)
    assert local.date() not in KR.calendar.closed and local.weekday() < 5
    assert 9 <= local.hour < 18 or (local.hour, local.minute) == (18, 0)
