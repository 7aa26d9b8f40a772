"""Classification + thread + loop verdict + now -> Decision, with its reasons."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from mailbot.core.sla import first_response_due
from mailbot.domain import Action, Classification, Decision, LoopVerdict, ThreadMatch


def decide(
    classification: Classification,
    match: ThreadMatch,
    verdict: LoopVerdict,
    *,
    received: datetime,
    windows_hours: Mapping[str, float],
    triage_threshold: float,
) -> Decision:
    """A follow-up joins its ticket silently; a new request gets a ticket and maybe an ack."""
    if match.ticket_id is not None:
        return Decision(
            action=Action.FOLLOW_UP,
            ticket_id=match.ticket_id,
            send_ack=False,
            template="",
            first_response_due=None,
            reasons=(f"follow-up: {match.reason}", "follow-ups get no new acknowledgement"),
        )
    triage = classification.confidence < triage_threshold
    reasons = [match.reason, *classification.explanation]
    if triage:
        reasons.append(f"confidence {classification.confidence:.2f} < {triage_threshold}: triage")
    reasons.append("ack: yes" if verdict.may_reply else f"no ack: {verdict.reason}")
    return Decision(
        action=Action.NEW_TICKET,
        ticket_id=None,
        send_ack=verdict.may_reply,
        template="default" if triage else classification.category,
        first_response_due=first_response_due(received, classification.urgency, windows_hours),
        reasons=tuple(reasons),
    )
