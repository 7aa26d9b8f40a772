"""Does a message belong to an existing ticket? Header threading first, then the reference."""

from __future__ import annotations

import re
from collections.abc import Mapping

from mailbot.domain import ParsedMail, ThreadMatch


def ref_pattern(prefix: str) -> re.Pattern[str]:
    """Ticket references as they appear in subjects, e.g. [MB-000123]."""
    return re.compile(rf"\b{re.escape(prefix)}-\d{{6,}}\b")


def candidate_ids(mail: ParsedMail) -> tuple[str, ...]:
    """Message-IDs this message refers to, most specific first."""
    ids = [mail.in_reply_to, *reversed(mail.references)]
    return tuple(dict.fromkeys(i for i in ids if i))


def candidate_refs(mail: ParsedMail, pattern: re.Pattern[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(pattern.findall(mail.subject)))


def correlate(
    mail: ParsedMail,
    *,
    tickets_by_message_id: Mapping[str, int],
    tickets_by_ref: Mapping[str, tuple[int, str]],
    pattern: re.Pattern[str],
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
    return ThreadMatch(None, "no thread match")
