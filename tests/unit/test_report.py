"""The report's pure computation, against figures worked out by hand, and its renderers."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from mailbot.core.report import (
    LATE,
    MET,
    OVERDUE,
    PENDING,
    QuarantinedMessage,
    Report,
    ReportRows,
    build_report,
    percentile,
    period,
    reason_kind,
    spread,
    top_topics,
)
from mailbot.reports.charts import Chart, all_charts
from mailbot.reports.document import to_document
from mailbot.reports.format import duration, pct
from mailbot.reports.html import render_html
from mailbot.reports.text import render_text

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SINCE, UNTIL = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
R = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)  # a received_at
H = timedelta(hours=1)
MIN, HOUR = 60.0, 3600.0
ORDER = ["critical", "high", "normal", "low"]


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([1, 2, 3, 4], 50, 2),  # nearest rank: ceil(0.5 * 4) = 2nd
        ([1, 2, 3, 4], 90, 4),  # ceil(3.6) = 4th
        ([1, 2, 3, 4], 10, 1),  # ceil(0.4) = 1st
        (list(range(1, 11)), 50, 5),
        (list(range(1, 11)), 90, 9),
        (list(range(1, 11)), 10, 1),
        ([7], 90, 7),
        ([], 50, None),
    ],
)
def test_percentile_is_nearest_rank(values: list[float], p: float, expected: float) -> None:
    assert percentile(values, p) == expected


def test_spread_sorts_first() -> None:
    assert spread([30, 10, 20]) == spread([10, 20, 30])
    assert (spread([30, 10, 20]).count, spread([30, 10, 20]).p50) == (3, 20)


def test_period_is_whole_inclusive_utc_days_or_the_last_30_days() -> None:
    assert period(date(2026, 11, 1), date(2026, 11, 30), now=NOW) == (SINCE, UNTIL)
    assert period(date(2026, 11, 5), date(2026, 11, 5), now=NOW) == (
        datetime(2026, 11, 5, tzinfo=UTC),
        datetime(2026, 11, 6, tzinfo=UTC),
    )
    assert period(None, None, now=NOW) == (NOW - timedelta(days=30), NOW)
    assert period(date(2026, 11, 20), None, now=NOW) == (datetime(2026, 11, 20, tzinfo=UTC), NOW)
    assert period(None, date(2026, 11, 9), now=NOW) == (
        datetime(2026, 10, 11, tzinfo=UTC),
        datetime(2026, 11, 10, tzinfo=UTC),
    )
    with pytest.raises(ValueError, match="empty"):
        period(date(2026, 11, 2), date(2026, 11, 1), now=NOW)


def rows(**changes: object) -> ReportRows:
    """Twelve tickets: 4 critical, 7 high, 1 low; 5 open, 7 resolved."""
    base: dict[str, object] = {
        "by_category": {"trading": 6, "deposit_withdrawal": 4, "technical": 2},
        "by_urgency": {"high": 7, "critical": 4, "low": 1},
        "by_language": {"en": 6, "ko": 3, "zh": 2, "ja": 1},
        "by_status": {"open": 5, "resolved": 7},
        "per_day": [
            (date(2026, 11, 3), "high", 2),
            (date(2026, 11, 3), "critical", 1),
            (date(2026, 11, 29), "low", 1),
        ],
        "sla": [
            ("critical", MET, 2),
            ("critical", LATE, 1),
            ("critical", OVERDUE, 1),
            ("high", MET, 4),
            ("high", PENDING, 3),
            ("low", MET, 1),
        ],
        # Responses after 10 min, 30 min, 1 h, 2 h, 5 h, each against a 4 h promise.
        "answered": [(d, 4 * HOUR) for d in (30 * MIN, 10 * MIN, 5 * HOUR, HOUR, 2 * HOUR)],
        "ack_seconds": [60.0, 2.0, 4.0, 3.0, 10.0],
        "ack_status": {"sent": 5, "dead": 1},
        "confidences": [0.3, 0.35, 0.4, 0.5, 0.55, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99],
        "needs_triage": 3,
        "subjects": [
            ("Re: Withdrawal 500 USDT pending", 1),
            ("withdrawal 20 usdt pending", 2),
            ("Fwd: [MB-000001] Withdrawal 7 USDT pending", 1),
            ("Cannot log in", 2),
            ("cannot  log in", 1),
            ("unique thing", 1),
            ("", 2),
        ],
        "escalations": [(2, 1, 1), (1, 3, 2)],
        "quarantined": [
            QuarantinedMessage(7, R + H, "<q7@x>", "ValueError: bad header"),
            QuarantinedMessage(5, R, "<q5@x>", "noise: auto-submitted"),
            QuarantinedMessage(9, R + 2 * H, "<q9@x>", "noise: list"),
        ],
    }
    return ReportRows(**(base | changes))  # type: ignore[arg-type]


def report_of(data: ReportRows | None = None) -> Report:
    return build_report(data or rows(), since=SINCE, until=UNTIL, now=NOW, urgency_order=ORDER)


def test_volumes_and_days() -> None:
    r = report_of()
    assert r.tickets == 12
    assert r.by_category == (("trading", 6), ("deposit_withdrawal", 4), ("technical", 2))
    assert r.by_urgency == (("critical", 4), ("high", 7), ("low", 1))  # the taxonomy's order
    assert r.by_language[0] == ("en", 6)
    assert len(r.per_day) == 30  # November, empty days included
    third = r.per_day[2]
    assert (third.day, third.total, third.by_urgency) == (
        date(2026, 11, 3),
        3,
        (("critical", 1), ("high", 2), ("low", 0)),
    )
    assert sum(d.total for d in r.per_day) == 4


def test_first_response_and_acknowledgement_percentiles() -> None:
    r = report_of()
    # 10 min, 30 min, 1 h, 2 h, 5 h: p50 = 3rd = 1 h; p90 = ceil(4.5) = 5th = 5 h.
    assert (r.first_response.count, r.first_response.p50, r.first_response.p90) == (
        5,
        3600.0,
        18000.0,
    )
    assert r.unanswered == 7
    assert sorted(r.response_samples)[0] == (600.0, 14400.0)
    # 2, 3, 4, 10, 60 s: p50 = 3rd = 4 s; p90 = 5th = 60 s.
    assert (r.ack_latency.p50, r.ack_latency.p90) == (4.0, 60.0)
    assert r.acks == (("sent", 5), ("pending", 0), ("dead", 1), ("none", 6))


def test_sla_compliance_excludes_tickets_not_yet_due() -> None:
    r = report_of()
    assert (r.sla.met, r.sla.late, r.sla.overdue, r.sla.pending) == (7, 1, 1, 3)
    assert r.sla.breached == 2
    assert r.sla.compliance_pct == pytest.approx(100 * 7 / 9)  # 77.8 %
    by = {line.urgency: line for line in r.sla_by_urgency}
    assert list(by) == ["critical", "high", "low"]
    assert by["critical"].compliance_pct == 50.0  # 2 met of 4 judged
    assert by["high"].compliance_pct == 100.0  # 4 met; 3 not yet due left out
    only_pending = report_of(rows(sla=[("high", PENDING, 3)]))
    assert only_pending.sla.compliance_pct is None


def test_escalations_classifier_topics_and_quarantine() -> None:
    r = report_of()
    assert [(e.level, e.escalations, e.tickets) for e in r.escalations] == [(1, 3, 2), (2, 1, 1)]
    # 12 confidences: p10 = ceil(1.2) = 2nd, p50 = 6th, p90 = ceil(10.8) = 11th.
    assert (r.confidence.p10, r.confidence.p50, r.confidence.p90) == (0.35, 0.6, 0.95)
    assert r.needs_triage == 3 and r.triage_rate_pct == 25.0
    assert [(t.topic, t.count, t.example) for t in r.top_topics] == [
        ("withdrawal # usdt pending", 4, "withdrawal 20 usdt pending"),
        ("cannot log in", 3, "Cannot log in"),
    ]  # "unique thing" comes once; empty subjects are no topic
    assert r.quarantine_reasons == (("noise", 2), ("ValueError", 1))
    assert [q.id for q in r.quarantined] == [5, 7, 9]  # by time fetched


def test_an_empty_period() -> None:
    empty = ReportRows({}, {}, {}, {}, [], [], [], [], {}, [], 0, [], [], [])
    r = report_of(empty)
    assert r.tickets == 0 and r.first_response.p50 is None and r.sla.compliance_pct is None
    assert r.triage_rate_pct is None and r.top_topics == () and len(r.per_day) == 30
    doc = to_document(r)
    assert doc["first_response"]["p50_seconds"] is None
    assert "none" in render_text(r)
    assert len(all_charts(r)) == 6  # "no data" charts, so the page has the same shape


def test_a_topic_is_shown_as_customers_wrote_it_without_reply_prefixes() -> None:
    topics = top_topics([("Fwd: Order 770 not filled", 3), ("Order 12 not filled", 1)])
    assert [(t.topic, t.count, t.example) for t in topics] == [
        ("order # not filled", 4, "Order 12 not filled")
    ]


def test_top_topics_keeps_ten_and_breaks_ties_by_name() -> None:
    subjects = [(f"topic {chr(97 + i)}", 2) for i in range(12)] + [("Re: TOPIC B", 1)]
    topics = top_topics(subjects)
    assert len(topics) == 10
    assert (topics[0].topic, topics[0].count) == ("topic b", 3)
    assert [t.topic for t in topics[1:3]] == ["topic a", "topic c"]


def test_reason_kind() -> None:
    assert reason_kind("noise: auto-submitted") == "noise"
    assert reason_kind("RuntimeError: boom: again") == "RuntimeError"
    assert reason_kind("no colon here") == "no colon here"
    assert reason_kind("") == "unknown"


def test_durations_and_percentages_for_people() -> None:
    assert [duration(x) for x in (None, 4.4, 59.6, 600, 3600, 3900, 2 * 86400 + 3600)] == [
        "—",
        "4s",
        "1m",
        "10m",
        "1h 00m",
        "1h 05m",
        "2d 1h",
    ]
    assert (pct(None), pct(77.777)) == ("—", "77.8 %")


def test_json_document() -> None:
    doc = json.loads(json.dumps(to_document(report_of())))
    assert doc["period"] == {
        "since": "2026-11-01T00:00:00Z",
        "until": "2026-12-01T00:00:00Z",
        "generated_at": "2026-11-30T12:00:00Z",
    }
    assert doc["sla"]["compliance_pct"] == 77.8
    assert doc["sla"]["by_urgency"]["high"]["excluded_not_yet_due"] == 3
    assert doc["first_response"] == {
        "answered": 5,
        "unanswered": 7,
        "p50_seconds": 3600.0,
        "p90_seconds": 18000.0,
    }
    assert doc["quarantine"]["messages"][0]["fetched_at"] == "2026-11-03T09:00:00Z"


def test_html_escapes_customer_text_and_embeds_only_data() -> None:
    nasty = '<script>alert(1)</script> & "quotes"'
    data = rows(
        subjects=[(nasty, 3)],
        by_category={"<img src=x onerror=alert(2)>": 12},
        quarantined=[QuarantinedMessage(1, R, '<a"b@x>', "ValueError: <iframe src=//evil>")],
    )
    page = render_html(report_of(data), charts=[Chart("t", "a <b>", b"\x89PNG-fake")])
    assert "<script>" not in page and "<img src=x" not in page and "<iframe" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert 'alt="a &lt;b&gt;"' in page
    assert re.findall(r'src="([^"]{0,22})', page) == ["data:image/png;base64,"]
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_html_has_the_headline_figures_and_six_real_pngs() -> None:
    page = render_html(report_of())
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 6
    for label in ("Tickets", "SLA compliance", "First response p50", "Acknowledgement p50"):
        assert f'<div class="label">{label}</div>' in page
    assert '<div class="value">77.8 %</div>' in page
    assert '<div class="value">1h 00m</div>' in page  # first response p50
    assert '<div class="value">4s</div>' in page  # acknowledgement p50
