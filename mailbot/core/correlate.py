"""Does a message belong to an existing ticket?

Header threading first (In-Reply-To/References, including a bounce's reported Message-ID),
then a ticket reference in the subject from the ticket's customer, then -- last resort -- the
same sender with the same normalised subject within a window.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from mailbot.domain import ParsedMail, ThreadMatch


def ref_pattern(prefix: str) -> re.Pattern[str]:
    """Ticket references as they appear in subjects, e.g. [MB-000123]."""
    return re.compile(rf"\b{re.escape(prefix)}-\d{{6,}}\b")


# Reply and forward prefixes of common clients in many languages, with either colon.
_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|sv|vs|antw|tr|rif|odp|回复|答复|回覆|转发|轉寄|転送|返信)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+",
    re.IGNORECASE,
)
_BRACKETED_REF = re.compile(r"\[[A-Z][A-Z0-9]{0,9}-\d{6,}\]\s*")
MIN_SUBJECT_LENGTH = 4  # "help" still counts; "Re:" or "?" alone never matches anything


def normalise_subject(subject: str) -> str:
    """The subject without reply/forward prefixes, ticket references, case and spacing."""
    text = _BRACKETED_REF.sub("", subject)
    previous = None
    while previous != text:  # "Re: [MB-000001] Fwd: x" needs more than one pass
        previous = text
        text = _BRACKETED_REF.sub("", _PREFIX.sub("", text))
    return " ".join(text.split()).casefold()


def candidate_ids(mail: ParsedMail) -> tuple[str, ...]:
    """Message-IDs this message refers to, most specific first."""
    ids = [mail.in_reply_to, *reversed(mail.references), mail.reported_message_id]
    return tuple(dict.fromkeys(i for i in ids if i))


def candidate_refs(mail: ParsedMail, pattern: re.Pattern[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(pattern.findall(mail.subject)))


def correlate(
    mail: ParsedMail,
    *,
    tickets_by_message_id: Mapping[str, int],
    tickets_by_ref: Mapping[str, tuple[int, str]],
    pattern: re.Pattern[str],
    recent_from_sender: Sequence[tuple[int, str]] = (),
) -> ThreadMatch:
    """Match by In-Reply-To/References, else by a ticket reference in the subject.

    `tickets_by_ref` maps a reference to (ticket id, customer address). A reference in the
    subject counts only from the ticket's own customer: anyone can type "[MB-000123]".
    """
    for msgid in candidate_ids(mail):
        if msgid in tickets_by_message_id:
            return ThreadMatch(tickets_by_message_id[msgid], f"references {msgid}")
    sender = mail.from_address.lower()
    for ref in candidate_refs(mail, pattern):
        if ref in tickets_by_ref and tickets_by_ref[ref][1] == sender:
            return ThreadMatch(tickets_by_ref[ref][0], f"subject names {ref}")
    return _same_subject(mail, recent_from_sender)


def _same_subject(mail: ParsedMail, recent: Sequence[tuple[int, str]]) -> ThreadMatch:
    """`recent`: (ticket id, subject) of the sender's recent tickets, newest first."""
    subject = normalise_subject(mail.subject)
    if len(subject) >= MIN_SUBJECT_LENGTH:
        for ticket_id, other in recent:
            if normalise_subject(other) == subject:
                return ThreadMatch(ticket_id, f"same sender and subject as ticket #{ticket_id}")
    return ThreadMatch(None, "no thread match")
