"""bytes -> ParsedMail. Total: a broken part becomes an empty value plus a recorded defect."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from email import policy
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from html.parser import HTMLParser

from mailbot.domain import ParsedMail

_MSGID = re.compile(r"<[^<>\s]+>")
_PARSER = BytesParser(policy=policy.default)


def parse(raw: bytes) -> ParsedMail:
    """Parse raw RFC 5322 bytes into the fields the pipeline uses."""
    defects: list[str] = []
    msg = _PARSER.parsebytes(raw)
    assert isinstance(msg, EmailMessage)  # policy.default always builds EmailMessage
    header = _header_reader(msg, defects)
    from_name, from_address = parseaddr(header("from"))
    return ParsedMail(
        message_id=_first_msgid(header("message-id")),
        in_reply_to=_first_msgid(header("in-reply-to")),
        references=tuple(_MSGID.findall(header("references"))),
        subject=_one_line(header("subject")),
        from_address=from_address.strip(),
        from_name=_one_line(from_name),
        to=tuple(addr for _, addr in getaddresses([header("to")]) if addr),
        date=_date(header("date"), defects),
        text=_body_text(msg, defects),
        headers=_all_headers(msg, defects),
        defects=tuple(defects) + tuple(type(d).__name__ for d in msg.defects),
    )


def _header_reader(msg: EmailMessage, defects: list[str]) -> Callable[[str], str]:
    def read(name: str) -> str:
        try:
            value = msg.get(name)
        except Exception as exc:  # broken encodings raise deep inside the header registry
            defects.append(f"header {name}: {exc.__class__.__name__}")
            raw = msg.get_all(name, failobj=[""])
            return str(raw[0]) if raw else ""
        return "" if value is None else str(value)

    return read


def _all_headers(msg: EmailMessage, defects: list[str]) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    read = _header_reader(msg, defects)
    for name in dict.fromkeys(k.lower() for k in msg):
        out.append((name, _one_line(read(name))))
    return tuple(out)


def _first_msgid(value: str) -> str:
    found = _MSGID.search(value)
    return found.group(0) if found else ""


def _one_line(value: str) -> str:
    """Collapse folding and any CR/LF a broken header carries."""
    return " ".join(value.split())


def _date(value: str, defects: list[str]) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        defects.append("unparseable Date header")
        return None


def _body_text(msg: EmailMessage, defects: list[str]) -> str:
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
    except Exception as exc:
        defects.append(f"body structure: {exc.__class__.__name__}")
        return ""
    if part is None:
        return ""
    content = _part_text(part, defects)
    if part.get_content_subtype() == "html":
        content = html_to_text(content)
    return content.strip()


def _part_text(part: MIMEPart, defects: list[str]) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, ValueError, AssertionError) as exc:
        defects.append(f"body decode: {exc.__class__.__name__}")
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


class _TextExtractor(HTMLParser):
    _SKIP = frozenset({"script", "style", "head"})
    _BREAK = frozenset({"br", "p", "div", "tr", "li", "h1", "h2", "h3", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BREAK:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    """Readable text from HTML (placeholder quality; the ingest issue brings a library)."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = (" ".join(line.split()) for line in "".join(extractor.chunks).splitlines())
    return "\n".join(line for line in lines if line)


_HEADER_PARSER = BytesParser(policy=policy.compat32)


def message_id_of(raw: bytes) -> str:
    """The Message-ID alone, cheaply (headers only), for dedupe at ingest time."""
    headers = _HEADER_PARSER.parsebytes(raw, headersonly=True)
    return _first_msgid(str(headers.get("message-id", "")))
