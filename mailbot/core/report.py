"""The support report: figures for a period, computed from rows the adapter loaded (pure).

Counts arrive already aggregated and durations already in seconds (the database does both);
percentiles need every value, so durations come one per ticket. Percentiles are nearest-rank:
p50 of 1, 2, 3, 4 is 2, always a value that was observed.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from mailbot.core.correlate import normalise_subject

DEFAULT_DAYS = 30
TOP_TOPICS = 10

SLA_RULE = (
    "A ticket meets its SLA when its first response (or, without one, its resolution) came at "
    "or before first_response_due. It is breached when that came later, or when it is still "
    "unanswered after the due time. Tickets unanswered and not yet due are left out."
)

# Outcomes of the SLA rule, as the adapter counts them.
MET, LATE, OVERDUE, PENDING = "met", "late", "overdue", "pending"

_DIGITS = re.compile(r"\d+")


# --- input ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class QuarantinedMessage:
    id: int
    fetched_at: datetime
    message_id: str
    reason: str


@dataclass(frozen=True)
class ReportRows:
    """What the adapter loads for one period (tickets received in [since, until))."""

    by_category: Mapping[str, int]
    by_urgency: Mapping[str, int]
    by_language: Mapping[str, int]
    by_status: Mapping[str, int]
    per_day: Sequence[tuple[date, str, int]]  # (UTC day received, urgency, tickets)
    sla: Sequence[tuple[str, str, int]]  # (urgency, MET | LATE | OVERDUE | PENDING, tickets)
    # Per answered ticket: (seconds to the first response, seconds promised: due - received).
    answered: Sequence[tuple[float, float]]
    ack_seconds: Sequence[float]  # per acknowledged ticket: received -> first ack sent
    ack_status: Mapping[str, int]  # outbox status of the ack -> tickets
    confidences: Sequence[float]
    needs_triage: int
    subjects: Sequence[tuple[str, int]]  # (subject as received, tickets)
    escalations: Sequence[tuple[int, int, int]]  # (level, escalation rows, distinct tickets)
    quarantined: Sequence[QuarantinedMessage]


# --- output --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Spread:
    """How many values, and their nearest-rank percentiles (None when there are none)."""

    count: int
    p10: float | None
    p50: float | None
    p90: float | None


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    total: int
    by_urgency: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class SlaLine:
    urgency: str  # "" for all urgencies together
    met: int
    late: int  # answered after the due time
    overdue: int  # still unanswered past the due time
    pending: int  # unanswered, not yet due: excluded

    @property
    def breached(self) -> int:
        return self.late + self.overdue

    @property
    def compliance_pct(self) -> float | None:
        judged = self.met + self.breached
        return None if judged == 0 else 100.0 * self.met / judged


@dataclass(frozen=True, slots=True)
class EscalationLine:
    level: int
    escalations: int
    tickets: int


@dataclass(frozen=True, slots=True)
class Topic:
    topic: str  # normalised: no Re:/Fwd:, no ticket reference, case folded, digits as #
    count: int
    example: str  # the most frequent subject as customers wrote it


@dataclass(frozen=True, slots=True)
class Report:
    since: datetime
    until: datetime
    generated_at: datetime
    tickets: int
    by_status: tuple[tuple[str, int], ...]
    by_category: tuple[tuple[str, int], ...]
    by_urgency: tuple[tuple[str, int], ...]
    by_language: tuple[tuple[str, int], ...]
    per_day: tuple[Day, ...]
    first_response: Spread  # seconds, tickets with a first response
    unanswered: int
    sla: SlaLine
    sla_by_urgency: tuple[SlaLine, ...]
    escalations: tuple[EscalationLine, ...]
    ack_latency: Spread  # seconds from received to the acknowledgement's sent_at
    acks: tuple[tuple[str, int], ...]  # sent / pending / dead / none -> tickets
    confidence: Spread
    needs_triage: int
    top_topics: tuple[Topic, ...]
    quarantine_reasons: tuple[tuple[str, int], ...]
    quarantined: tuple[QuarantinedMessage, ...]
    # (response seconds, promised window seconds) per answered ticket, for the histogram.
    response_samples: tuple[tuple[float, float], ...] = field(default=(), repr=False)

    @property
    def triage_rate_pct(self) -> float | None:
        return None if self.tickets == 0 else 100.0 * self.needs_triage / self.tickets

    @property
    def urgencies(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.by_urgency)


# --- the computation -----------------------------------------------------------------------
def period(since: date | None, until: date | None, *, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) in UTC: whole days, both inclusive; by default the 30 days ending now."""
    end = _midnight(until + timedelta(days=1)) if until is not None else now
    start = _midnight(since) if since is not None else end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise ValueError(f"the period is empty: {start:%Y-%m-%d} is not before {end:%Y-%m-%d}")
    return start, end


def build_report(
    rows: ReportRows,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    urgency_order: Sequence[str] = (),
) -> Report:
    """Every figure of the report for tickets received in [since, until)."""
    order = _order(urgency_order, rows.by_urgency)
    samples = tuple(rows.answered)
    sla_lines = _sla_lines(rows.sla, order)
    tickets = sum(rows.by_status.values())
    return Report(
        since=since,
        until=until,
        generated_at=now,
        tickets=tickets,
        by_status=_by_count(rows.by_status),
        by_category=_by_count(rows.by_category),
        by_urgency=tuple((u, rows.by_urgency[u]) for u in order),
        by_language=_by_count(rows.by_language),
        per_day=_days(rows.per_day, since, until, order),
        first_response=spread(s for s, _ in samples),
        unanswered=tickets - len(samples),
        sla=_sum_lines(sla_lines),
        sla_by_urgency=sla_lines,
        escalations=tuple(EscalationLine(*e) for e in sorted(rows.escalations)),
        ack_latency=spread(rows.ack_seconds),
        acks=_acks(rows.ack_status, tickets),
        confidence=spread(rows.confidences),
        needs_triage=rows.needs_triage,
        top_topics=top_topics(rows.subjects),
        quarantine_reasons=_by_count(Counter(reason_kind(q.reason) for q in rows.quarantined)),
        quarantined=tuple(sorted(rows.quarantined, key=lambda q: (q.fetched_at, q.id))),
        response_samples=samples,
    )


def percentile(ordered: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of already sorted values: the smallest value with at least
    p % of the values at or below it."""
    if not ordered:
        return None
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


def spread(values: Iterable[float]) -> Spread:
    ordered = sorted(values)
    return Spread(
        len(ordered), percentile(ordered, 10), percentile(ordered, 50), percentile(ordered, 90)
    )


def topic_of(subject: str) -> str:
    """A subject as a topic: normalised like threading does, and numbers made alike."""
    return _DIGITS.sub("#", normalise_subject(subject))


def top_topics(subjects: Iterable[tuple[str, int]], limit: int = TOP_TOPICS) -> tuple[Topic, ...]:
    """The most frequent topics that come back at least twice, most frequent first."""
    counts: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    for subject, n in subjects:
        topic = topic_of(subject)
        if topic:
            counts[topic] += n
            spellings[topic][subject.strip()] += n
    ranked = sorted((item for item in counts.items() if item[1] >= 2), key=lambda i: (-i[1], i[0]))
    return tuple(Topic(topic, n, _example(spellings[topic])) for topic, n in ranked[:limit])


def _example(spellings: Counter[str]) -> str:
    """The most frequent spelling, preferring one without Re:/Fwd: or a ticket reference."""

    def key(item: tuple[str, int]) -> tuple[bool, int, str]:
        text, n = item
        return (normalise_subject(text) != " ".join(text.split()).casefold(), -n, text)

    return min(spellings.items(), key=key)[0]


def reason_kind(reason: str) -> str:
    """The kind of a quarantine reason: the text before its first colon ("noise", "ValueError")."""
    head, sep, _ = reason.partition(":")
    return head.strip() if sep and 0 < len(head.strip()) <= 40 else (reason.strip() or "unknown")


# --- helpers -------------------------------------------------------------------------------
def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _by_count(counts: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counts.items(), key=lambda i: (-i[1], i[0])))


def _order(preferred: Sequence[str], seen: Iterable[str]) -> tuple[str, ...]:
    """Configured urgencies in their order, then any others found in the data."""
    seen = set(seen)
    return (*(u for u in preferred if u in seen), *sorted(seen - set(preferred)))


def _days(
    counts: Sequence[tuple[date, str, int]], since: datetime, until: datetime, order: Sequence[str]
) -> tuple[Day, ...]:
    """One entry per UTC day of the period, days without tickets included."""
    table: dict[date, Counter[str]] = defaultdict(Counter)
    for day, urgency, n in counts:
        table[day][urgency] += n
    first, last = since.date(), (until - timedelta(microseconds=1)).date()
    out = []
    for i in range((last - first).days + 1):
        day = first + timedelta(days=i)
        found = table.get(day, Counter())
        out.append(Day(day, sum(found.values()), tuple((u, found[u]) for u in order)))
    return tuple(out)


def _sla_lines(counts: Sequence[tuple[str, str, int]], order: Sequence[str]) -> tuple[SlaLine, ...]:
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for urgency, outcome, n in counts:
        table[urgency][outcome] += n
    names = (*(u for u in order if u in table), *sorted(set(table) - set(order)))
    return tuple(
        SlaLine(u, table[u][MET], table[u][LATE], table[u][OVERDUE], table[u][PENDING])
        for u in names
    )


def _sum_lines(lines: Iterable[SlaLine]) -> SlaLine:
    lines = list(lines)
    return SlaLine(
        "",
        sum(x.met for x in lines),
        sum(x.late for x in lines),
        sum(x.overdue for x in lines),
        sum(x.pending for x in lines),
    )


def _acks(status: Mapping[str, int], tickets: int) -> tuple[tuple[str, int], ...]:
    known = ("sent", "pending", "dead")
    lines = [(s, status.get(s, 0)) for s in known]
    lines += sorted((s, n) for s, n in status.items() if s not in known)
    return (*lines, ("none", max(0, tickets - sum(status.values()))))
