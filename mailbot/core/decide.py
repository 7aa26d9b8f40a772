"""Classification + thread + loop verdict + SLA policy -> Decision, with its reasons."""

from __future__ import annotations

from datetime import datetime

from mailbot.core.sla import SlaPolicy, Windows, promise
from mailbot.domain import Action, Classification, Decision, LoopVerdict, ThreadMatch


def decide(
    classification: Classification,
    match: ThreadMatch,
    verdict: LoopVerdict,
    *,
    received: datetime,
    sender: str,
    sla: SlaPolicy,
    triage_threshold: float,
    mailbox_windows: Windows | None = None,
) -> Decision:
    """A follow-up joins its ticket silently; a new request gets a ticket and maybe an ack."""
    if match.ticket_id is not None:
        return Decision(
            action=Action.FOLLOW_UP,
            ticket_id=match.ticket_id,
            send_ack=False,
            template="",
            promise=None,
            reasons=(f"follow-up: {match.reason}", "follow-ups get no new acknowledgement"),
        )
    triage = classification.confidence < triage_threshold
    reasons = [match.reason, *classification.explanation]
    if triage:
        reasons.append(
            f"confidence {classification.confidence:.2f} < {triage_threshold}: needs triage, "
            f"generic acknowledgement ({classification.category} kept as a suggestion)"
        )
    promised = promise(
        sla,
        received=received,
        category=classification.category,
        urgency=classification.urgency,
        sender=sender,
        mailbox=mailbox_windows,
    )
    reasons.append(f"sla: {promised.source}")
    reasons.append("ack: yes" if verdict.may_reply else f"no ack: {verdict.reason}")
    return Decision(
        action=Action.NEW_TICKET,
        ticket_id=None,
        send_ack=verdict.may_reply,
        template="default" if triage else classification.category,
        promise=promised,
        reasons=tuple(reasons),
        needs_triage=triage,
    )
