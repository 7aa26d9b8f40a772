"""Header values -> text: RFC 2047 encoded words, RFC 2231 parameters and raw 8-bit bytes,
decoded the forgiving way mail clients do it (see tests/corpus/README.md, "Broken encoded
words"). Every function here is total."""

from __future__ import annotations

import base64
import binascii
import re
from email.utils import getaddresses

from mailbot.core.charsets import decode_bytes

# Lenient on purpose: a word whose closing "?=" is missing ends at whitespace or the end of
# the value (Outlook and some webmail cut long subjects that way).
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)(?:\?=|(?=\s|$))")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_LINE_BREAK = re.compile(r"[\r\n]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def header_text(raw: str | None, *, hint: str | None = None) -> str:
    """Decode one raw header value (as stored by the parser) into text, unfolded.

    Raw 8-bit bytes (surrogate-escaped by the parser) are read as UTF-8, else as `hint` (the
    message's body charset, as Thunderbird does), else detected; encoded words are decoded.
    """
    if not raw:
        return ""
    value = _unfolded(raw, hint)
    if "=?" in value:
        value = decode_words(value, hint=hint)
    return _CONTROL.sub("", value)


def _unfolded(raw: str, hint: str | None) -> str:
    value = _LINE_BREAK.sub(" ", _FOLD.sub("", raw))
    if _has_surrogates(value):
        value = raw_bytes_text(value, hint=hint)
    return _CONTROL.sub("", value)


def one_line(value: str) -> str:
    """Collapse every run of whitespace to one space and trim."""
    return " ".join(value.split())


def raw_bytes_text(value: str, *, hint: str | None = None) -> str:
    """Text from a surrogate-escaped str holding raw 8-bit bytes."""
    data = value.encode("utf-8", "surrogateescape")
    return decode_bytes(data, None, fallback=hint).text


def decode_words(value: str, *, hint: str | None = None) -> str:
    """Decode RFC 2047 encoded words anywhere in `value` (also inside quotes, as QQ sends).

    Whitespace between adjacent encoded words is dropped, and adjacent words in one charset
    are joined as bytes before decoding, so a character split across two words survives.
    """
    out: list[str] = []
    pending: list[bytes] = []
    pending_charset = ""
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        charset = match.group(1).split("*", 1)[0].lower()
        word = _word_bytes(match.group(2), match.group(3))
        if pending and not between.strip() and charset == pending_charset:
            pending.append(word)
        else:
            out.append(_flush(pending, pending_charset, hint))
            if between.strip() or not pending:  # whitespace between two words is dropped
                out.append(between)
            pending, pending_charset = [word], charset
        position = match.end()
    out.append(_flush(pending, pending_charset, hint))
    out.append(value[position:])
    return "".join(out)


def _flush(pending: list[bytes], charset: str, hint: str | None) -> str:
    if not pending:
        return ""
    return decode_bytes(b"".join(pending), charset, fallback=hint).text


def _word_bytes(encoding: str, text: str) -> bytes:
    data = text.encode("utf-8", "replace")  # raw 8-bit inside a Q word is usually UTF-8
    if encoding in "qQ":
        return binascii.a2b_qp(data, header=True)
    data = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
    data = data[: len(data) - len(data) % 4] if len(data) % 4 == 1 else data
    try:
        return base64.b64decode(data + b"=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        return b""


def _has_surrogates(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value) if not value.isascii() else False


def first_address(raw: str | None, *, hint: str | None = None) -> tuple[str, str]:
    """(display name, addr-spec) of the first address in a From-like header value."""
    if not raw:
        return "", ""
    value = _unfolded(raw, hint)
    # Parse before decoding: a decoded name may hold commas, quotes or angle brackets.
    pairs = getaddresses([value])
    name, address = pairs[0] if pairs else ("", "")
    if not address and not name:
        return "", ""
    return one_line(header_text(name, hint=hint)), address.strip()


def all_addresses(raw: str | None, *, hint: str | None = None) -> tuple[str, ...]:
    """Every addr-spec in an address-list header value."""
    if not raw:
        return ()
    value = _unfolded(raw, hint)
    return tuple(addr.strip() for _, addr in getaddresses([value]) if addr.strip())


def param_text(value: str | tuple[str | None, str | None, str] | None, *, hint: str | None) -> str:
    """A MIME parameter as text: RFC 2231 (charset'lang'%XX, continuations), RFC 2047 words
    inside the quotes (as Outlook and Becky! send file names), or raw 8-bit bytes."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        charset, _language, text = value
        data = text.encode("latin-1", "surrogateescape") if _encodable(text) else b""
        return one_line(_CONTROL.sub("", decode_bytes(data, charset or None, fallback=hint).text))
    return one_line(header_text(value, hint=hint))


def _encodable(text: str) -> bool:
    return all(ord(ch) < 0x100 or "\udc80" <= ch <= "\udcff" for ch in text)
