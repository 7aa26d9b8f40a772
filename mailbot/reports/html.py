"""The report as one standalone HTML page: key figures, embedded PNG charts, then tables.

Nothing is fetched: the charts are data: URIs, the CSS is inline, there is no script, and a
Content-Security-Policy says so to the browser too. Every string that comes from the
database (subjects, reasons, Message-IDs, category names) goes through html.escape.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from datetime import timedelta
from html import escape
from typing import Any

from mailbot.core.report import SLA_RULE, Report
from mailbot.reports.charts import Chart, all_charts
from mailbot.reports.format import duration, iso, pct

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
QUARANTINE_ROWS = 50

CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f4f6f8;color:#2c3e50;
 font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK KR",sans-serif}
main{max-width:1180px;margin:0 auto;padding:28px 24px 48px}
h1{font-size:26px;margin:0 0 4px}
h2{font-size:18px;margin:36px 0 12px}
h3{font-size:15px;margin:0 0 8px}
.period{color:#5d6d7e;margin:0 0 22px}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:14px}
.kpi{background:#fff;border-radius:10px;padding:16px 18px;box-shadow:0 1px 3px rgba(0,0,0,.08);
 border-top:4px solid #2e86c1}
.kpi .label{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#5d6d7e}
.kpi .value{font-size:28px;font-weight:700;margin:4px 0 2px;white-space:nowrap}
.kpi .sub{font-size:13px;color:#5d6d7e}
.kpi.good{border-top-color:#27ae60}.kpi.warn{border-top-color:#e67e22}
.kpi.bad{border-top-color:#c0392b}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px}
figure{margin:0;background:#fff;border-radius:10px;padding:14px 16px;
 box-shadow:0 1px 3px rgba(0,0,0,.08)}
figure.wide{grid-column:1/-1}
figure img{display:block;max-width:100%;height:auto;margin:0 auto}
figcaption{font-weight:600;margin-bottom:6px}
.tables{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:16px}
.card{background:#fff;border-radius:10px;padding:14px 16px;box-shadow:0 1px 3px rgba(0,0,0,.08);
 overflow-x:auto}
.card.wide{grid-column:1/-1}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e5e8ec;vertical-align:top}
th{font-size:12px;text-transform:uppercase;letter-spacing:.03em;color:#5d6d7e}
tr.total td{font-weight:700}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.note{font-size:13px;color:#5d6d7e;margin:8px 0 0}
.empty{color:#7f8c8d;font-style:italic}
footer{margin-top:36px;font-size:12px;color:#7f8c8d}
"""


def render_html(report: Report, charts: Sequence[Chart] | None = None) -> str:
    """The whole page; `charts` defaults to charts.all_charts(report)."""
    charts = all_charts(report) if charts is None else charts
    last_day = report.until - timedelta(microseconds=1)  # until is exclusive
    title = f"Support report {report.since:%Y-%m-%d} to {last_day:%Y-%m-%d}"
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>",
            f"<h1>{escape(title)}</h1>",
            f'<p class="period">Tickets received from {escape(iso(report.since))} up to '
            f"{escape(iso(report.until))} (UTC) · generated {escape(iso(report.generated_at))}"
            "</p>",
            _kpis(report),
            "<h2>Charts</h2>",
            '<section class="charts">',
            *(_figure(c, wide=i in (0, 3)) for i, c in enumerate(charts)),
            "</section>",
            "<h2>Details</h2>",
            '<section class="tables">',
            *_tables(report),
            "</section>",
            "<footer>mailbot report · durations are nearest-rank percentiles · all times UTC"
            "</footer>",
            "</main></body></html>",
        ]
    )


def _kpis(report: Report) -> str:
    sla, fr, ack = report.sla, report.first_response, report.ack_latency
    cards = [
        ("Tickets", str(report.tickets), f"{report.needs_triage} need triage", ""),
        (
            "SLA compliance",
            pct(sla.compliance_pct),
            f"{sla.met} met · {sla.breached} breached · {sla.pending} not yet due",
            _grade(sla.compliance_pct),
        ),
        (
            "First response p50",
            duration(fr.p50),
            f"p90 {duration(fr.p90)} · {report.unanswered} without one yet",
            "",
        ),
        ("First response p90", duration(fr.p90), f"{fr.count} answered", ""),
        ("Acknowledgement p50", duration(ack.p50), f"p90 {duration(ack.p90)}", ""),
        (
            "Escalations",
            str(sum(e.escalations for e in report.escalations)),
            f"{sla.overdue} tickets unanswered past due",
            "bad" if sla.overdue else "good",
        ),
    ]
    return (
        '<section class="kpis">'
        + "".join(
            f'<div class="kpi {grade}"><div class="label">{escape(label)}</div>'
            f'<div class="value">{escape(value)}</div><div class="sub">{escape(sub)}</div></div>'
            for label, value, sub, grade in cards
        )
        + "</section>"
    )


def _grade(compliance: float | None) -> str:
    if compliance is None:
        return ""
    return "good" if compliance >= 95 else "warn" if compliance >= 80 else "bad"


def _figure(chart: Chart, *, wide: bool) -> str:
    data = base64.b64encode(chart.png).decode("ascii")
    return (
        f'<figure class="{"wide" if wide else ""}"><figcaption>{escape(chart.title)}</figcaption>'
        f'<img alt="{escape(chart.alt)}" src="data:image/png;base64,{data}"></figure>'
    )


def _tables(report: Report) -> list[str]:
    return [
        _card("Volume by category", ["category", "tickets"], report.by_category),
        _card("Volume by urgency", ["urgency", "tickets"], report.by_urgency),
        _card("Volume by language", ["language", "tickets"], report.by_language),
        _sla_card(report),
        _card(
            "Escalations by level",
            ["level", "escalations", "tickets"],
            [(e.level, e.escalations, e.tickets) for e in report.escalations],
        ),
        _card(
            "Acknowledgements",
            ["state", "tickets"],
            report.acks,
            note=f"Latency from receipt to sent: p50 {duration(report.ack_latency.p50)}, "
            f"p90 {duration(report.ack_latency.p90)}.",
        ),
        _classifier_card(report),
        _card(
            "Top repeated topics",
            ["topic (most frequent subject)", "tickets"],
            [(t.example, t.count) for t in report.top_topics],
            note="Subjects without Re:/Fwd:, ticket references, case and numbers.",
        ),
        _quarantine_card(report),
    ]


def _sla_card(report: Report) -> str:
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
    return _card("SLA compliance", headers, rows, note=SLA_RULE, wide=True, total_row=True)


def _classifier_card(report: Report) -> str:
    c = report.confidence
    rows = [
        ("confidence p10", _fixed(c.p10)),
        ("confidence p50", _fixed(c.p50)),
        ("confidence p90", _fixed(c.p90)),
        ("needs triage", f"{report.needs_triage} ({pct(report.triage_rate_pct)})"),
    ]
    return _card("Classifier", ["figure", "value"], rows)


def _quarantine_card(report: Report) -> str:
    shown = report.quarantined[:QUARANTINE_ROWS]
    rows = [(q.id, iso(q.fetched_at), q.reason, q.message_id) for q in shown]
    hidden = len(report.quarantined) - len(shown)
    reasons = ", ".join(f"{name} {n}" for name, n in report.quarantine_reasons)
    note = f"By reason: {reasons}." if reasons else ""
    if hidden > 0:
        note += f" {hidden} more: mailbot quarantine list."
    return _card(
        f"Quarantined messages ({len(report.quarantined)})",
        ["inbox id", "fetched", "reason", "Message-ID"],
        rows,
        note=note,
        wide=True,
    )


def _card(
    title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    note: str = "",
    wide: bool = False,
    total_row: bool = False,
) -> str:
    rows = list(rows)
    numeric = [bool(rows) and all(isinstance(r[i], int) for r in rows) for i in range(len(headers))]
    head = "".join(
        f'<th class="{"n" if numeric[i] else ""}">{escape(h)}</th>' for i, h in enumerate(headers)
    )
    body = "".join(
        ('<tr class="total">' if total_row and n == len(rows) - 1 else "<tr>")
        + "".join(
            f'<td class="{"n" if numeric[i] else ""}">{escape(str(v))}</td>'
            for i, v in enumerate(r)
        )
        + "</tr>"
        for n, r in enumerate(rows)
    )
    table = (
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        if rows
        else '<p class="empty">none</p>'
    )
    extra = f'<p class="note">{escape(note)}</p>' if note else ""
    return (
        f'<div class="card{" wide" if wide else ""}"><h3>{escape(title)}</h3>{table}{extra}</div>'
    )


def _fixed(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"
