"""The report as readable terminal tables (tabulate, CJK-aware widths)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tabulate import tabulate

from mailbot.core.report import SLA_RULE, Report
from mailbot.reports.format import duration, iso, pct

QUARANTINE_LINES = 20


def render_text(report: Report) -> str:
    """Every section of the report, one table each."""
    parts = [
        f"mailbot report: tickets received {iso(report.since)} to {iso(report.until)}",
        _table(["figure", "value"], headline(report)),
        _section("volume by category", ["category", "tickets"], report.by_category),
        _section("volume by urgency", ["urgency", "tickets"], report.by_urgency),
        _section("volume by language", ["language", "tickets"], report.by_language),
        _sla_section(report),
        _section(
            "escalations by level",
            ["level", "escalations", "tickets"],
            [(e.level, e.escalations, e.tickets) for e in report.escalations],
        ),
        _section("acknowledgements", ["state", "tickets"], report.acks),
        _section(
            "top repeated topics",
            ["count", "topic (most frequent subject)"],
            [(t.count, _clip(t.example)) for t in report.top_topics],
        ),
        _quarantine_section(report),
    ]
    return "\n\n".join(parts)


def headline(report: Report) -> list[tuple[str, Any]]:
    fr, ack, conf = report.first_response, report.ack_latency, report.confidence
    return [
        ("tickets", report.tickets),
        ("SLA compliance", pct(report.sla.compliance_pct)),
        ("SLA breaches (late / unanswered past due)", _breaches(report)),
        ("first response p50 / p90", f"{duration(fr.p50)} / {duration(fr.p90)}"),
        ("answered / not yet", f"{fr.count} / {report.unanswered}"),
        ("acknowledgement latency p50 / p90", f"{duration(ack.p50)} / {duration(ack.p90)}"),
        ("classifier confidence p10 / p50 / p90", _confidence(conf.p10, conf.p50, conf.p90)),
        ("needs triage", f"{report.needs_triage} ({pct(report.triage_rate_pct)})"),
        ("quarantined messages", len(report.quarantined)),
    ]


def _breaches(report: Report) -> str:
    return f"{report.sla.breached} ({report.sla.late} / {report.sla.overdue})"


def _confidence(*values: float | None) -> str:
    return " / ".join("—" if v is None else f"{v:.2f}" for v in values)


def _sla_section(report: Report) -> str:
    rows = [
        (
            line.urgency or "all",
            line.met,
            line.late,
            line.overdue,
            line.pending,
            pct(line.compliance_pct),
        )
        for line in (*report.sla_by_urgency, report.sla)
    ]
    headers = ["urgency", "met", "late", "unanswered past due", "not yet due", "compliance"]
    return _section("SLA compliance", headers, rows) + "\n" + SLA_RULE


def _quarantine_section(report: Report) -> str:
    rows = [
        (q.id, iso(q.fetched_at), _clip(q.reason, 70))
        for q in report.quarantined[:QUARANTINE_LINES]
    ]
    text = _section("quarantine by reason", ["reason", "messages"], report.quarantine_reasons)
    if rows:
        text += "\n\n" + _table(["inbox id", "fetched_at", "reason"], rows)
        hidden = len(report.quarantined) - len(rows)
        if hidden > 0:
            text += f"\n… and {hidden} more (mailbot quarantine list)"
    return text


def _section(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    rows = list(rows)
    return f"{title}\n" + (_table(headers, rows) if rows else "  none")


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    return str(tabulate(list(rows), headers=list(headers)))


def _clip(value: str, width: int = 60) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"
