"""The report's charts as PNG bytes (matplotlib, Agg backend, no pyplot global state)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import matplotlib

matplotlib.use("Agg")

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from mailbot.core.report import Report, percentile

URGENCY_COLOURS = {"critical": "#c0392b", "high": "#e67e22", "normal": "#2e86c1", "low": "#95a5a6"}
OTHER_COLOURS = ("#8e44ad", "#16a085", "#d4ac0d", "#5d6d7e", "#a04000", "#1f618d")
BAR = "#2e86c1"
MET, LATE, OVERDUE = "#27ae60", "#e67e22", "#c0392b"
INK, GRID = "#2c3e50", "#e5e8ec"
DPI = 110
WIDE, HALF = 10.0, 5.4  # inches: a chart across the page, one of two side by side


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    alt: str  # what the chart shows, for people who cannot see it
    png: bytes


def all_charts(report: Report) -> list[Chart]:
    """The six charts of the HTML report, in page order; every one, even without data."""
    return [
        Chart("Tickets per day", "Tickets received per day, stacked by urgency", per_day(report)),
        Chart("By category", "Tickets per category", by_name(report.by_category)),
        Chart("By language", "Tickets per language", by_name(report.by_language)),
        Chart(
            "First response vs the promise",
            "Distribution of first-response times; within the promised window or late",
            first_response(report),
        ),
        Chart("SLA by urgency", "Met, late and unanswered-past-due tickets", sla(report)),
        Chart("Escalations by level", "Escalations recorded per level", escalations(report)),
    ]


def urgency_colour(name: str, index: int) -> str:
    return URGENCY_COLOURS.get(name, OTHER_COLOURS[index % len(OTHER_COLOURS)])


def per_day(report: Report) -> bytes:
    fig, ax = _figure(WIDE, 3.2)
    days = report.per_day
    if not report.tickets:
        return _empty(fig, ax, "No tickets in this period")
    x = list(range(len(days)))
    bottom = [0] * len(days)
    for i, urgency in enumerate(report.urgencies):
        heights = [dict(d.by_urgency).get(urgency, 0) for d in days]
        ax.bar(
            x, heights, bottom=bottom, color=urgency_colour(urgency, i), label=urgency, width=0.8
        )
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    step = max(1, len(days) // 8)
    ax.set_xticks(x[::step], [d.day.strftime("%b %d") for d in days[::step]])
    ax.set_ylabel("tickets")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(
        frameon=False,
        ncols=max(1, len(report.urgencies)),
        loc="lower left",
        bbox_to_anchor=(0, 1),
        fontsize=8,
    )
    return _png(fig)


def by_name(counts: Sequence[tuple[str, int]]) -> bytes:
    fig, ax = _figure(HALF, max(1.8, 0.36 * len(counts) + 0.9), grid="x")
    if not counts:
        return _empty(fig, ax, "No tickets in this period")
    names = [n for n, _ in counts][::-1]
    values = [v for _, v in counts][::-1]
    bars = ax.barh(names, values, color=BAR)
    ax.bar_label(bars, padding=3, fontsize=8, color=INK)
    ax.set_xlabel("tickets")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.margins(x=0.15)
    return _png(fig)


def first_response(report: Report) -> bytes:
    fig, ax = _figure(WIDE, 3.2)
    samples = report.response_samples
    if not samples:
        return _empty(fig, ax, "No first responses recorded yet")
    windows = sorted(w for _, w in samples)
    scale, unit = (3600.0, "hours") if max(windows) >= 7200 else (60.0, "minutes")
    top = max(percentile(sorted(s for s, _ in samples), 99) or 0.0, windows[-1]) * 1.05 / scale
    met = [min(s / scale, top) for s, w in samples if s <= w]
    late = [min(s / scale, top) for s, w in samples if s > w]
    ax.hist(
        [met, late],
        bins=30,
        range=(0, top),
        stacked=True,
        color=[MET, LATE],
        label=["within the promise", "late"],
    )
    promise = (percentile(windows, 50) or 0.0) / scale
    ax.axvline(
        promise,
        color=INK,
        linestyle="--",
        linewidth=1.2,
        label=f"promised window (median, {promise:.1f} {unit})",
    )
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(frameon=False, fontsize=8, loc="upper right")
    ax.set_xlabel(f"time to first response ({unit}; longer ones in the last bar)")
    ax.set_ylabel("tickets")
    return _png(fig)


def sla(report: Report) -> bytes:
    lines = [line for line in report.sla_by_urgency if line.met + line.breached]
    fig, ax = _figure(HALF, max(1.8, 0.5 * len(lines) + 1.0), grid="x")
    if not lines:
        return _empty(fig, ax, "No ticket has reached its due time yet")
    names = [line.urgency for line in lines][::-1]
    met = [line.met for line in lines][::-1]
    late = [line.late for line in lines][::-1]
    overdue = [line.overdue for line in lines][::-1]
    ax.barh(names, met, color=MET, label="met")
    ax.barh(names, late, left=met, color=LATE, label="answered late")
    done = [m + lt for m, lt in zip(met, late, strict=True)]
    ax.barh(names, overdue, left=done, color=OVERDUE, label="unanswered past due")
    for y, line in enumerate(lines[::-1]):
        ax.annotate(
            f"  {line.compliance_pct or 0:.0f} %",
            (line.met + line.breached, y),
            va="center",
            fontsize=9,
            color=INK,
        )
    ax.margins(x=0.15)
    ax.set_xlabel("tickets")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(frameon=False, fontsize=8, ncols=3, loc="lower left", bbox_to_anchor=(0, 1))
    return _png(fig)


def escalations(report: Report) -> bytes:
    fig, ax = _figure(HALF, 3.0)
    if not report.escalations:
        return _empty(fig, ax, "No escalations in this period")
    # Level 0 is the warning before the due time, where the escalation policy has one.
    labels = [f"level {e.level}" if e.level else "warning" for e in report.escalations]
    bars = ax.bar(labels, [e.escalations for e in report.escalations], color=OVERDUE, width=0.6)
    ax.bar_label(bars, padding=2, fontsize=9, color=INK)
    ax.set_ylabel("escalations")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.margins(y=0.2)
    return _png(fig)


def _figure(width: float, height: float, grid: Literal["x", "y"] = "y") -> tuple[Figure, Axes]:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.spines[["left", "bottom"]].set_color("#b0b7bf")
    ax.tick_params(colors=INK, labelsize=8)
    ax.grid(axis=grid, color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def _empty(fig: Figure, ax: Axes, message: str) -> bytes:
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", color="#7f8c8d", fontsize=11)
    return _png(fig)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", facecolor="white")
    return buffer.getvalue()
