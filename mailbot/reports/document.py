"""The report as one JSON document: durations in seconds, timestamps ISO 8601 UTC."""

from __future__ import annotations

from typing import Any

from mailbot.core.report import SLA_RULE, Report, SlaLine, Spread
from mailbot.reports.format import iso


def to_document(report: Report) -> dict[str, Any]:
    """Plain data for json.dumps; the keys are the contract of `report --format json`."""
    return {
        "period": {
            "since": iso(report.since),
            "until": iso(report.until),
            "generated_at": iso(report.generated_at),
        },
        "tickets": {"total": report.tickets, "by_status": dict(report.by_status)},
        "volume": {
            "category": dict(report.by_category),
            "urgency": dict(report.by_urgency),
            "language": dict(report.by_language),
            "per_day": [
                {"date": d.day.isoformat(), "total": d.total, "urgency": dict(d.by_urgency)}
                for d in report.per_day
            ],
        },
        "first_response": {
            "answered": report.first_response.count,
            "unanswered": report.unanswered,
            "p50_seconds": _round(report.first_response.p50),
            "p90_seconds": _round(report.first_response.p90),
        },
        "sla": {
            "rule": SLA_RULE,
            **_sla(report.sla),
            "by_urgency": {line.urgency: _sla(line) for line in report.sla_by_urgency},
        },
        "escalations": {
            "total": sum(e.escalations for e in report.escalations),
            "by_level": [
                {"level": e.level, "escalations": e.escalations, "tickets": e.tickets}
                for e in report.escalations
            ],
        },
        "acknowledgements": {
            "tickets": dict(report.acks),
            "p50_seconds": _round(report.ack_latency.p50),
            "p90_seconds": _round(report.ack_latency.p90),
        },
        "classifier": {
            "confidence": _spread(report.confidence),
            "needs_triage": report.needs_triage,
            "triage_rate_pct": _round(report.triage_rate_pct),
        },
        "top_topics": [
            {"topic": t.topic, "count": t.count, "example": t.example} for t in report.top_topics
        ],
        "quarantine": {
            "total": len(report.quarantined),
            "by_reason": dict(report.quarantine_reasons),
            "messages": [
                {
                    "id": q.id,
                    "fetched_at": iso(q.fetched_at),
                    "message_id": q.message_id,
                    "reason": q.reason,
                }
                for q in report.quarantined
            ],
        },
    }


def _sla(line: SlaLine) -> dict[str, Any]:
    return {
        "met": line.met,
        "breached": line.breached,
        "answered_late": line.late,
        "unanswered_past_due": line.overdue,
        "excluded_not_yet_due": line.pending,
        "compliance_pct": _round(line.compliance_pct),
    }


def _spread(s: Spread) -> dict[str, Any]:
    return {
        "count": s.count,
        "p10": _round(s.p10, 3),
        "p50": _round(s.p50, 3),
        "p90": _round(s.p90, 3),
    }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)
