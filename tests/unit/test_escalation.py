"""The escalation ladder as a function of now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.core.escalation import (
    FIRST_RESPONSE,
    RESOLUTION,
    EscalationPolicy,
    Step,
    TicketTimes,
    plan,
)

T0 = datetime(2026, 11, 23, 9, tzinfo=UTC)
POLICY = EscalationPolicy(
    warn_fraction=0.75,
    steps=(Step(1, timedelta(0)), Step(2, timedelta(hours=1)), Step(3, timedelta(hours=4))),
)


def ticket(**changes: object) -> TicketTimes:
    base: dict[str, object] = {
        "ticket_id": 1,
        "received_at": T0,
        "first_response_due": T0 + timedelta(hours=4),
        "resolution_due": T0 + timedelta(hours=24),
        "first_response_at": None,
        "resolved": False,
    }
    return TicketTimes(**(base | changes))  # type: ignore[arg-type]


def fired(t: TicketTimes, at: datetime) -> list[tuple[str, int]]:
    return [(e.target, e.level) for e in plan(t, POLICY, at)[0]]


def test_warning_at_three_quarters_then_breach_then_ladder() -> None:
    assert fired(ticket(), T0 + timedelta(hours=2, minutes=59)) == []
    assert plan(ticket(), POLICY, T0)[1] == T0 + timedelta(hours=3)
    assert fired(ticket(), T0 + timedelta(hours=3)) == [(FIRST_RESPONSE, 0)]
    assert fired(ticket(), T0 + timedelta(hours=4)) == [(FIRST_RESPONSE, 1)]
    assert fired(ticket(), T0 + timedelta(hours=5)) == [(FIRST_RESPONSE, 1), (FIRST_RESPONSE, 2)]
    _, next_at = plan(ticket(), POLICY, T0 + timedelta(hours=5))
    assert next_at == T0 + timedelta(hours=8)  # level 3 of the first response


def test_an_agent_reply_stops_the_first_response_chain_not_the_resolution_one() -> None:
    answered = ticket(first_response_at=T0 + timedelta(hours=1))
    assert fired(answered, T0 + timedelta(hours=10)) == []
    assert fired(answered, T0 + timedelta(hours=18)) == [(RESOLUTION, 0)]
    assert plan(ticket(resolved=True), POLICY, T0 + timedelta(days=9)) == ([], None)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 60 * 40), st.integers(0, 60 * 40))
def test_every_level_fires_once_however_the_scans_fall(a: int, b: int) -> None:
    """Scans at any two moments, then a late one: the union has each event exactly once
    (the store's unique key makes a repeat a no-op), levels in order, nothing missed."""
    t = ticket()
    seen: list[tuple[str, int]] = []
    for minutes in sorted((a, b, 60 * 48)):
        for event in fired(t, T0 + timedelta(minutes=minutes)):
            if event not in seen:
                seen.append(event)
    assert {e for e in seen if e[1] > 0} == {(FIRST_RESPONSE, n) for n in (1, 2, 3)} | {
        (RESOLUTION, n) for n in (1, 2, 3)
    }
    for target in (FIRST_RESPONSE, RESOLUTION):
        levels = [lv for tg, lv in seen if tg == target]
        assert levels == sorted(levels)
