"""Values that cross stage boundaries. Frozen, typed, no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class InboxStatus(enum.StrEnum):
    """Where a fetched message stands; exactly one at a time."""

    RECEIVED = "received"  # stored raw, not yet processed
    PROCESSED = "processed"  # became a ticket or a follow-up
    DUPLICATE = "duplicate"  # same Message-ID / raw bytes already processed
    QUARANTINED = "quarantined"  # could not be processed; reason recorded


class TicketStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


class Action(enum.StrEnum):
    NEW_TICKET = "new_ticket"
    FOLLOW_UP = "follow_up"


@dataclass(frozen=True, slots=True)
class FetchedMail:
    """One message as the IMAP server gave it."""

    account: str
    mailbox: str
    uidvalidity: int
    uid: int
    raw: bytes


@dataclass(frozen=True, slots=True)
class Attachment:
    """Metadata of one attached part; the content stays in the raw message."""

    filename: str  # decoded (RFC 2231 / RFC 2047); '' when the part has none
    content_type: str  # lower-case type/subtype, without parameters
    size: int  # decoded bytes


@dataclass(frozen=True, slots=True)
class PendingInbox:
    """A received inbox row waiting to be processed."""

    id: int
    raw: bytes
    fetched_at: datetime
    account: str = ""
    mailbox: str = ""


@dataclass(frozen=True, slots=True)
class ParsedMail:
    """What the pipeline needs from a message. Parsing is total: absent means empty."""

    message_id: str
    in_reply_to: str
    references: tuple[str, ...]
    subject: str
    from_address: str
    from_name: str
    to: tuple[str, ...]
    date: datetime | None
    text: str  # the full decoded body, quoted history included
    headers: tuple[tuple[str, str], ...]  # lower-cased name, decoded value
    defects: tuple[str, ...] = ()
    new_text: str = ""  # the sender's new words: `text` without quoted history and signature
    attachments: tuple[Attachment, ...] = ()
    is_delivery_report: bool = False  # multipart/report; report-type=delivery-status
    reported_message_id: str = ""  # for a DSN: Message-ID of the message that bounced

    def header(self, name: str) -> str:
        """First value of a header (case-insensitive), or ''."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k == wanted), "")

    def has_header(self, name: str) -> bool:
        wanted = name.lower()
        return any(k == wanted for k, _ in self.headers)


@dataclass(frozen=True, slots=True)
class LoopVerdict:
    """Whether we may send an automatic reply to this message, and why not."""

    may_reply: bool
    reason: str = ""
    robot: bool = False  # the mail itself says it is automatic (not a rate limit or our own)


@dataclass(frozen=True, slots=True)
class ThreadMatch:
    ticket_id: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class Classification:
    category: str
    urgency: str
    language: str
    confidence: float
    model_version: str
    probabilities: dict[str, float] = field(default_factory=dict)
    explanation: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Promise:
    """The response windows a new ticket gets, as computed by core.sla.promise."""

    first_response_due: datetime
    resolution_due: datetime
    first_response_hours: float
    always_open: bool  # counted 24/7: the acknowledgement can say "within N hours"
    timezone: str  # the business calendar's timezone (IANA key)
    source: str  # which policy layer set the window, for the explanation


@dataclass(frozen=True, slots=True)
class FaqLink:
    """A knowledge-base article suggested in an acknowledgement."""

    slug: str
    title: str
    url: str
    score: float


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a message, with the reasons that produced it."""

    action: Action
    ticket_id: int | None
    send_ack: bool
    template: str
    promise: Promise | None  # None for a follow-up
    reasons: tuple[str, ...]
    needs_triage: bool = False


@dataclass(frozen=True, slots=True)
class TicketView:
    """The ticket fields a template may show. Customer-controlled strings are plain text."""

    ref: str
    customer_address: str
    customer_name: str
    subject: str
    category: str
    urgency: str
    language: str
    received_at: datetime
    first_response_due: datetime


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """A fully rendered message, ready for SMTP. `raw` is what goes on the wire."""

    message_id: str
    sender: str
    recipients: tuple[str, ...]
    raw: bytes
