"""Decision + templates -> OutgoingMail. Header-safe: customer text never becomes a header line."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any, Protocol

from mailbot.domain import OutgoingMail, TicketView

# C0/C1 controls, DEL, and Unicode line/paragraph separators: none may reach a header.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


@dataclass(frozen=True, slots=True)
class RenderedParts:
    subject: str
    text: str
    html: str


class TemplateRenderer(Protocol):
    def render(self, language: str, name: str, context: Mapping[str, Any]) -> RenderedParts:
        """Subject, text and HTML of template `name` in `language` (with fallbacks)."""
        ...


@dataclass(frozen=True, slots=True)
class Sender:
    address: str
    name: str
    reply_to: str | None


def header_safe(value: str, limit: int = 200) -> str:
    """One line of plain text: control characters and line breaks become spaces."""
    return " ".join(_UNSAFE.sub(" ", value).split())[:limit]


def make_message_id(ref: str, kind: str, seq: int, domain: str) -> str:
    """Deterministic from the outbox key, so a re-render after a crash gives the same id."""
    digest = hashlib.sha256(f"{ref}|{kind}|{seq}|{domain}".encode()).hexdigest()[:16]
    return f"<{ref}.{kind}.{seq}.{digest}@{domain}>"


def ack_context(view: TicketView, *, team: str) -> dict[str, Any]:
    """What templates may use (documented in templates/README.md)."""
    hours = (view.first_response_due - view.received_at).total_seconds() / 3600
    return {
        "ticket": {
            "ref": view.ref,
            "subject": header_safe(view.subject),
            "category": view.category,
            "urgency": view.urgency,
            "language": view.language,
            "customer_name": header_safe(view.customer_name, 100),
            "customer_address": view.customer_address,
        },
        "promise": {
            "hours": round(hours, 1) if hours % 1 else int(hours),
            "due_utc": view.first_response_due.strftime("%Y-%m-%d %H:%M UTC"),
        },
        "team": team,
    }


def render_ack(
    view: TicketView,
    *,
    renderer: TemplateRenderer,
    template: str,
    sender: Sender,
    in_reply_to: str,
    references: tuple[str, ...],
    now: datetime,
    seq: int = 1,
) -> OutgoingMail:
    """The acknowledgement for a new ticket as wire bytes."""
    parts = renderer.render(view.language, template, ack_context(view, team=sender.name))
    domain = sender.address.rsplit("@", 1)[-1]
    message_id = make_message_id(view.ref, "ack", seq, domain)
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = formataddr((header_safe(sender.name, 100), sender.address))
    msg["To"] = view.customer_address
    if sender.reply_to:
        msg["Reply-To"] = sender.reply_to
    msg["Subject"] = header_safe(f"[{view.ref}] {parts.subject}", 300)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = " ".join((*references[-10:], in_reply_to))
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["Precedence"] = "auto_reply"
    msg.set_content(parts.text)
    msg.add_alternative(parts.html, subtype="html")
    return OutgoingMail(
        message_id=message_id,
        sender=sender.address,
        recipients=(view.customer_address,),
        raw=msg.as_bytes(),
    )
