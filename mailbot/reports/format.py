"""Figures as people read them: durations, percentages, UTC timestamps."""

from __future__ import annotations

from datetime import datetime


def iso(value: datetime) -> str:
    """ISO 8601 in UTC, e.g. 2026-11-22T09:30:00Z (as every JSON document of mailbot)."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def duration(seconds: float | None) -> str:
    """A short duration for people: "—", "45s", "12m", "3h 05m", "2d 4h" (rounded down)."""
    if seconds is None:
        return "—"
    s = round(seconds)
    if abs(s) < 60:
        return f"{s}s"
    minutes = s // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def pct(value: float | None) -> str:
    """One decimal and a percent sign; "—" when there was nothing to measure."""
    return "—" if value is None else f"{value:.1f} %"
