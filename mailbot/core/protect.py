"""Protect the customer: what a message exposed, and what that changes.

Runs right after parsing, before anything is stored, logged, classified or escalated: every
later stage only ever sees the redacted mail. A secret raises the ticket's urgency to its
severity (never lowers it) and makes the acknowledgement warn; a forwarded mail from a lookalike
of our own domains makes the ticket a security incident answered with the phishing template.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from mailbot.core.phishing import Lookalike, find_lookalikes
from mailbot.core.secrets import SecretKind, Severity, distinct_kinds, redact, worst_severity
from mailbot.domain import Classification, ParsedMail

PHISHING_TEMPLATE = "phishing"


@dataclass(frozen=True, slots=True)
class Exposure:
    """What one message exposed: secret kinds (most dangerous first) and lookalike domains."""

    kinds: tuple[SecretKind, ...] = ()
    lookalikes: tuple[Lookalike, ...] = ()

    @property
    def severity(self) -> Severity | None:
        return worst_severity(self.kinds)

    def __bool__(self) -> bool:
        return bool(self.kinds or self.lookalikes)


def screen(mail: ParsedMail, official_domains: Sequence[str]) -> tuple[ParsedMail, Exposure]:
    """The mail with its secrets replaced by typed markers in the subject, the body and the
    new text, and what it exposed. Lookalikes are looked for in the (redacted) body, where a
    forwarded or quoted mail is; the customer's own address is theirs, not a claim to be us."""
    subject, text, new_text = redact(mail.subject), redact(mail.text), redact(mail.new_text)
    kinds = distinct_kinds((*subject.findings, *text.findings, *new_text.findings))
    lookalikes = find_lookalikes(text.text, official_domains) if official_domains else ()
    if not kinds:
        return mail, Exposure((), lookalikes)
    headers = tuple(
        (name, subject.text if name == "subject" else value) for name, value in mail.headers
    )
    redacted = dataclasses.replace(
        mail, subject=subject.text, text=text.text, new_text=new_text.text, headers=headers
    )
    return redacted, Exposure(kinds, lookalikes)


def protect(
    c: Classification,
    exposure: Exposure,
    *,
    urgencies: Sequence[str],
    incident_category: str,
) -> Classification:
    """The classification as the exposure changes it: urgency raised to the worst secret's
    severity (critical -> the most urgent level, high -> the next), category set to
    `incident_category` for a lookalike. Each change is explained."""
    reasons: list[str] = []
    urgency, category = c.urgency, c.category
    wanted = urgency_for(exposure.severity, urgencies)
    if wanted is not None and urgencies.index(wanted) < urgencies.index(urgency):
        urgency = wanted
    if exposure.kinds:
        kinds = ", ".join(exposure.kinds)
        reasons.append(f"exposed secret ({kinds}): redacted; urgency {c.urgency} -> {urgency}")
    if exposure.lookalikes:
        category = incident_category
        found = "; ".join(lk.why for lk in exposure.lookalikes)
        reasons.append(f"phishing lookalike ({found}): category {c.category} -> {category}")
    if not reasons:
        return c
    return dataclasses.replace(
        c, category=category, urgency=urgency, explanation=(*c.explanation, *reasons)
    )


def template_for(template: str, exposure: Exposure) -> str:
    """A forwarded phishing mail gets the phishing template, whatever its category."""
    return PHISHING_TEMPLATE if exposure.lookalikes else template


def urgency_for(severity: Severity | None, urgencies: Sequence[str]) -> str | None:
    """The urgency a secret of this severity calls for: critical -> the most urgent level,
    high -> the next one; None when it calls for no change."""
    if severity is Severity.CRITICAL:
        return urgencies[0]
    if severity is Severity.HIGH:
        return urgencies[min(1, len(urgencies) - 1)]
    return None
