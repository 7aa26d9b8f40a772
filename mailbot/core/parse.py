"""bytes -> ParsedMail. Total: arbitrary bytes give a ParsedMail, never an exception; whatever
was broken or guessed is recorded in `defects`.

The stdlib parser (compat32, which is fast and lenient with broken MIME) builds the tree;
headers.py decodes header values, charsets.py body bytes, mime.py picks the body and the
attachments, htmltext.py turns HTML into text and quotes.py finds the sender's new text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from email.utils import parsedate_to_datetime

from mailbot.core import mime
from mailbot.core.charsets import decode_bytes
from mailbot.core.headers import all_addresses, first_address, header_text, one_line
from mailbot.core.htmltext import html_to_text
from mailbot.core.quotes import new_text
from mailbot.domain import Attachment, ParsedMail

__all__ = ["DEFAULT_MAX_BYTES", "html_to_text", "message_id_of", "parse"]

# Above this, only the headers are parsed: Gmail's and Outlook's send limits (20-25 MB of
# attachments) plus base64 overhead stay below it; hostile or runaway messages do not.
DEFAULT_MAX_BYTES = 40 * 1024 * 1024
_MAX_HEADER_BYTES = 1024 * 1024
_MSGID = re.compile(r"<[^<>\s]+>")
_NEWLINES = re.compile(r"\r\n?")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")  # keeps \t, \n and \f
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.IGNORECASE)
_FORWARD_RULE = "---------- Forwarded message ----------"
_FORWARD_DEPTH = 3


@dataclass(frozen=True, slots=True)
class _Content:
    text: str = ""
    new_text: str = ""
    attachments: tuple[Attachment, ...] = ()
    is_delivery_report: bool = False
    reported_message_id: str = ""


def parse(raw: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedMail:
    """Parse raw RFC 5322 bytes into the fields the pipeline uses."""
    defects: list[str] = []
    oversized = len(raw) > max_bytes
    if oversized:
        defects.append(f"message is {len(raw)} bytes, over the {max_bytes} limit: headers only")
    msg = _message(raw, defects, headers_only=oversized)
    hint = _charset_hint(msg)
    from_name, from_address = first_address(_raw(msg, "from"), hint=hint)
    content = _Content() if oversized else _content(msg, hint, defects)
    return ParsedMail(
        message_id=_message_id(msg),
        in_reply_to=_first_msgid(header_text(_raw(msg, "in-reply-to"))),
        references=tuple(_MSGID.findall(header_text(_raw(msg, "references")))),
        subject=one_line(header_text(_raw(msg, "subject"), hint=hint)),
        from_address=from_address,
        from_name=from_name,
        to=all_addresses(_raw(msg, "to"), hint=hint),
        date=_date(header_text(_raw(msg, "date")), defects),
        text=content.text,
        headers=_all_headers(msg, hint),
        defects=tuple(_printable(d) for d in defects)
        + tuple(type(d).__name__ for d in msg.defects),
        new_text=content.new_text,
        attachments=content.attachments,
        is_delivery_report=content.is_delivery_report,
        reported_message_id=content.reported_message_id,
    )


def message_id_of(raw: bytes) -> str:
    """The Message-ID alone, cheaply (headers only), for dedupe at ingest time."""
    return _message_id(_message(raw, [], headers_only=True))


def _message(raw: bytes, defects: list[str], *, headers_only: bool) -> Message:
    data = raw[: _header_end(raw)] if headers_only else raw
    try:
        return mime.PARSER.parsebytes(data, headersonly=headers_only)
    except RecursionError:  # thousands of nested multiparts: keep the headers
        defects.append("MIME nesting too deep: headers only")
        return mime.PARSER.parsebytes(raw[: _header_end(raw)], headersonly=True)


def _header_end(raw: bytes) -> int:
    """Offset just past the blank line ending the header section (bounded)."""
    head = raw[:_MAX_HEADER_BYTES]
    ends = [i + len(sep) for sep in (b"\r\n\r\n", b"\n\n") if (i := head.find(sep)) >= 0]
    return min(ends) if ends else len(head)


def _printable(note: str) -> str:
    """Defect notes may quote broken input; they must still be storable UTF-8 text."""
    return note.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


def _raw(msg: Message, name: str) -> str | None:
    value = msg.get(name)
    return value if isinstance(value, str) else None


def _message_id(msg: Message) -> str:
    return _first_msgid(header_text(_raw(msg, "message-id")))


def _first_msgid(value: str) -> str:
    found = _MSGID.search(value)
    return found.group(0) if found else ""


def _date(value: str, defects: list[str]) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        defects.append("unparseable Date header")
        return None


def _all_headers(msg: Message, hint: str | None) -> tuple[tuple[str, str], ...]:
    """First value of each header name, decoded; duplicates (035) come out once."""
    names = dict.fromkeys(name.lower() for name in msg)
    return tuple((name, one_line(header_text(_raw(msg, name), hint=hint))) for name in names)


def _charset_hint(msg: Message) -> str | None:
    """The first declared text charset: how this sender's software writes raw 8-bit bytes."""
    for part in mime.leaves(msg):
        if part.get_content_maintype() == "text":
            label = mime.param(part, "charset")
            if label:
                return label
    return None


def _content(msg: Message, hint: str | None, defects: list[str]) -> _Content:
    try:
        return _read_content(msg, hint, defects)
    except Exception as exc:
        # The contract is totality: a corner of the stdlib email package we have not met yet
        # must cost the body (recorded here), not the message.
        defects.append(f"body unreadable: {type(exc).__name__}: {exc}")
        return _Content()


def _read_content(msg: Message, hint: str | None, defects: list[str]) -> _Content:
    bodies = mime.find_bodies(msg)
    body_text = "\n\n".join(t for t in (_part_text(p, hint, defects) for p in bodies) if t)
    forwarded = _forwarded(msg, hint, defects, depth=1)
    dsn = mime.is_delivery_report(msg)
    return _Content(
        text="\n\n".join(t for t in (body_text, *forwarded) if t),
        new_text=new_text(body_text),
        attachments=tuple(mime.attachments(msg, bodies, hint=hint)),
        is_delivery_report=dsn,
        reported_message_id=mime.reported_message_id(msg) if dsn else "",
    )


def _part_text(part: Message, hint: str | None, defects: list[str]) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    is_html = part.get_content_subtype() == "html"
    label = mime.param(part, "charset") or (_meta_charset(payload) if is_html else None)
    decoded = decode_bytes(payload, label, fallback=hint)
    if decoded.note:
        defects.append(f"{part.get_content_type()}: {decoded.note}")
    text = _CONTROL.sub("", _NEWLINES.sub("\n", decoded.text))
    return html_to_text(text) if is_html else text.strip()


def _meta_charset(payload: bytes) -> str | None:
    found = _META_CHARSET.search(payload[:4096])
    return found.group(1).decode("ascii") if found else None


def _forwarded(msg: Message, hint: str | None, defects: list[str], *, depth: int) -> list[str]:
    """Text of messages attached as message/rfc822, so the full text keeps what was sent."""
    if depth > _FORWARD_DEPTH:
        return []
    texts: list[str] = []
    for enclosed in mime.enclosed_messages(msg):
        inner_hint = _charset_hint(enclosed) or hint
        heading = [_FORWARD_RULE] + [
            f"{name}: {one_line(header_text(_raw(enclosed, name), hint=inner_hint))}"
            for name in ("From", "Date", "Subject")
            if _raw(enclosed, name)
        ]
        inner = "\n\n".join(_part_text(p, inner_hint, defects) for p in mime.find_bodies(enclosed))
        texts.append("\n".join([*heading, "", inner]).strip())
        texts.extend(_forwarded(enclosed, inner_hint, defects, depth=depth + 1))
    return texts
