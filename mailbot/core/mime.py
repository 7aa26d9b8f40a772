"""The MIME tree -> which part is the body, which parts are attachments, what a DSN reports.

Rules (tests/corpus/README.md): multipart/alternative prefers a non-empty text/plain, then
HTML; multipart/related starts at its root; message/rfc822 is never the body and is a leaf.
An attachment is any leaf other than the body with a file name or Content-Disposition:
attachment, listed in tree order."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import Message
from email.parser import BytesParser
from email.policy import Compat32

from mailbot.core.headers import header_text, param_text
from mailbot.domain import Attachment

_MAX_DEPTH = 30  # deeper trees are hostile, not mail
_TEXT_BODY = frozenset({"text/plain", "text/html"})
_HEADER_PARTS = frozenset({"text/rfc822-headers", "message/rfc822-headers"})
_MESSAGE_PARTS = frozenset({"message/rfc822", "message/global"})
_MSGID = re.compile(r"<[^<>\s]+>")


class _RawHeaders(Compat32):
    """compat32 parsing (fast, and lenient with broken MIME) that hands header values back
    raw: we decode encoded words and 8-bit bytes ourselves (headers.py), more forgivingly."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


PARSER = BytesParser(policy=_RawHeaders())


def children(part: Message) -> list[Message]:
    """Sub-parts of a multipart (or the enclosed message of message/*), else []."""
    payload = part.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def param(part: Message, name: str, header: str = "content-type") -> str | None:
    """A parameter's value (for an RFC 2231 value, its undecoded text), or None."""
    value = part.get_param(name, header=header)
    if isinstance(value, tuple):
        return value[2]
    return value


def find_bodies(part: Message, depth: int = 0) -> list[Message]:
    """The parts whose text is the message body, in order ([] if none).

    Usually one part; multipart/mixed gives every inline text part, because Apple Mail splits
    the text around inline images and list servers append their footer as its own part.
    """
    if depth > _MAX_DEPTH:
        return []
    ctype = part.get_content_type()
    if ctype == "multipart/alternative":
        return _alternative(part, depth)
    if not part.is_multipart():
        return [part] if ctype in _TEXT_BODY and not is_attachment(part) else []
    if part.get_content_maintype() == "message":
        return []
    found: list[Message] = []
    for child in _ordered(part, ctype):
        found.extend(find_bodies(child, depth + 1))
        if found and ctype != "multipart/mixed":
            break
    return found


def _ordered(part: Message, ctype: str) -> list[Message]:
    subparts = children(part)
    start = param(part, "start") if ctype == "multipart/related" else None
    if start:
        root = [p for p in subparts if (p.get("content-id") or "").strip() == start.strip()]
        return root + [p for p in subparts if p not in root]
    return subparts


def _alternative(part: Message, depth: int) -> list[Message]:
    options = [found for child in children(part) if (found := find_bodies(child, depth + 1))]
    for subtype in ("plain", "html"):
        for option in options:
            if option[0].get_content_subtype() == subtype and any(map(_has_content, option)):
                return option
    return options[0] if options else []


def _has_content(part: Message) -> bool:
    payload = part.get_payload(decode=True)
    return isinstance(payload, bytes) and bool(payload.strip())


def is_attachment(part: Message) -> bool:
    """Disposition attachment, or a file name: the corpus rule for attachment-ness."""
    return disposition(part) == "attachment" or bool(raw_filename(part))


def disposition(part: Message) -> str:
    """'attachment', 'inline' or '' from Content-Disposition."""
    value = part.get("content-disposition") or ""
    return value.split(";", 1)[0].strip().lower()


def raw_filename(part: Message) -> str | tuple[str | None, str | None, str] | None:
    """The undecoded file name: Content-Disposition filename, else Content-Type name."""
    for name, header in (("filename", "content-disposition"), ("name", "content-type")):
        value = part.get_param(name, header=header)
        if value:
            return value
    return None


def leaves(part: Message, depth: int = 0) -> Iterator[Message]:
    """Leaf parts in tree order; an enclosed message (message/rfc822) counts as one leaf."""
    if depth > _MAX_DEPTH:
        return
    if not part.is_multipart() or part.get_content_maintype() == "message":
        yield part
        return
    for child in children(part):
        yield from leaves(child, depth + 1)


def attachments(root: Message, bodies: list[Message], *, hint: str | None) -> list[Attachment]:
    """Attachment metadata in tree order."""
    found: list[Attachment] = []
    for part in leaves(root):
        if is_attachment(part) and not any(part is body for body in bodies):
            name = param_text(raw_filename(part), hint=hint)
            found.append(Attachment(name, part.get_content_type(), size_of(part)))
    return found


def size_of(part: Message) -> int:
    """Decoded size in bytes; an enclosed message is measured as serialized."""
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return len(payload)
    enclosed = children(part)
    if not enclosed:
        return 0
    try:
        return len(enclosed[0].as_bytes())
    except (ValueError, TypeError, LookupError, UnicodeError, AttributeError, RecursionError):
        return 0  # a serializer quirk on a broken enclosed message; the size is informative


def enclosed_messages(root: Message) -> list[Message]:
    """Messages forwarded as message/rfc822 parts, in tree order."""
    found: list[Message] = []
    for part in leaves(root):
        if part.get_content_type() in _MESSAGE_PARTS:
            found.extend(children(part)[:1])
    return found


def is_delivery_report(root: Message) -> bool:
    """multipart/report; report-type=delivery-status (RFC 3464)."""
    report_type = (param(root, "report-type") or "").strip().lower()
    return root.get_content_type() == "multipart/report" and report_type == "delivery-status"


def reported_message_id(root: Message) -> str:
    """Message-ID of the message a DSN reports on, from its returned message or headers."""
    for part in children(root):
        ctype = part.get_content_type()
        enclosed = children(part)[:1] if ctype in _MESSAGE_PARTS else []
        if ctype in _HEADER_PARTS:
            payload = part.get_payload(decode=True)
            enclosed = (
                [PARSER.parsebytes(payload, headersonly=True)] if isinstance(payload, bytes) else []
            )
        for message in enclosed:
            found = _MSGID.search(header_text(message.get("message-id")))
            if found:
                return found.group(0)
    return ""
