"""bytes + declared charset -> text. The label is obeyed first (read as the superset that
mail clients really use), detection runs only when the label is missing, unknown, fails to
decode or is implausible, and every deviation from the label comes back as a note."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# Labels the senders' software really means, after the WHATWG Encoding Standard that browsers
# and mail clients follow: Outlook's ks_c_5601-1987 is Windows-949, GB2312/GBK are read as
# GB18030, Shift_JIS as Windows-31J (CP932), ISO-8859-1 and US-ASCII as Windows-1252. Keys are
# Python codec names (codecs.lookup(label).name); candidates are tried strictly, in order.
_SUPERSETS: dict[str, tuple[str, ...]] = {
    "euc_kr": ("cp949",),
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "shift_jis": ("cp932",),
    "big5": ("big5hkscs", "cp950"),
    "iso2022_jp": ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2", "x-iso2022-jp-ms"),
    "iso8859-1": ("cp1252",),
    "ascii": ("cp1252",),
    "iso8859-9": ("cp1254",),
    "tis-620": ("cp874",),
}
# Labels seen in mail that Python does not know (or knows as something narrower).
_ALIASES: dict[str, str] = {
    "x-gbk": "gb18030",
    "windows-949": "cp949",
    "x-windows-949": "cp949",
    "ks_c_5601": "cp949",
    "windows-31j": "cp932",
    "x-sjis": "cp932",
    "windows-874": "cp874",
    "x-euc-jp": "euc_jp",
    "x-mac-roman": "mac_roman",
}
# Multi-byte codecs: bytes that decode under one of these by accident are rare, so a strict
# success is evidence; and only such a detection result may overrule a single-byte label.
_MULTIBYTE = frozenset(
    {
        "utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp949", "euc_kr", "johab",
        "gb18030", "gbk", "gb2312", "hz", "big5", "big5hkscs", "cp950", "cp932", "shift_jis",
        "shift_jis_2004", "shift_jisx0213", "euc_jp", "euc_jis_2004", "euc_jisx0213",
        "iso2022_jp", "iso2022_jp_1", "iso2022_jp_2", "iso2022_jp_2004", "iso2022_jp_3",
        "iso2022_jp_ext", "iso2022_kr", "utf-7",
    }
)  # fmt: skip
_STATEFUL_7BIT = frozenset(
    {"iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2", "iso2022_kr", "hz", "utf-7"}
)
# A few bad sequences in an otherwise valid text are damage, not a wrong label.
_DAMAGE_RATIO = 0.01
_SAMPLE = 64 * 1024
_HIGH = bytes(range(0x80, 0x100))
_JIS_ESCAPE = re.compile(rb"\x1b(\$[@B]|\$\(D|\([BJI])")
_ISOLATED_HIGH = re.compile(rb"(?<![\x80-\xff])[\x80-\xff](?![\x80-\xff])")


@dataclass(frozen=True, slots=True)
class Decoded:
    """Text plus the codec actually used and, if the label was not simply obeyed, why."""

    text: str
    codec: str
    note: str = ""


def codec_candidates(label: str | None) -> tuple[str, ...]:
    """Python codecs to try for a MIME charset label, superset first; () if unknown."""
    if not label:
        return ()
    name = label.strip().strip("\"'").lower()
    name = _ALIASES.get(name, name)
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        return ()
    return _SUPERSETS.get(canonical, (canonical,))


def is_multibyte(codec: str) -> bool:
    """Whether a codec (any spelling Python accepts) is a multi-byte encoding."""
    try:
        return codecs.lookup(codec).name in _MULTIBYTE
    except LookupError:
        return False


def decode_bytes(data: bytes, label: str | None, *, fallback: str | None = None) -> Decoded:
    """Decode `data` declared as `label`; `fallback` is a hint for unlabelled bytes."""
    candidates = codec_candidates(label)
    if data.isascii() and not (candidates and candidates[0] in _STATEFUL_7BIT):
        return Decoded(data.decode("ascii"), "ascii")
    if not candidates:
        return _unlabelled(data, label, codec_candidates(fallback))
    if is_multibyte(candidates[0]):
        return _declared_multibyte(data, label or "", candidates)
    return _declared_single_byte(data, label or "", candidates[0])


def _strict(data: bytes, codec: str) -> str | None:
    if codec == "x-iso2022-jp-ms":
        return _iso2022_jp_ms(data)
    try:
        return data.decode(codec)
    except (UnicodeError, LookupError):
        return None


def _declared_multibyte(data: bytes, label: str, candidates: tuple[str, ...]) -> Decoded:
    for codec in candidates:
        text = _strict(data, codec)
        if text is not None:
            return Decoded(text, codec)
    lenient = data.decode(candidates[0], "replace")
    damaged = lenient.count("\ufffd")
    if damaged <= max(1, int(len(lenient) * _DAMAGE_RATIO)):
        return Decoded(lenient, candidates[0], f"{damaged} bad byte sequence(s) in {label}")
    return _relabelled(data, f"declared {label} does not decode", candidates[0])


def _declared_single_byte(data: bytes, label: str, codec: str) -> Decoded:
    # Every byte string "decodes" as a single-byte charset, so failure cannot tell us the label
    # is wrong; valid multi-byte UTF-8, or text that only makes sense as CJK, can.
    text = _strict(data, "utf-8")
    if text is not None:
        return Decoded(text, "utf-8", f"declared {label}, content is UTF-8")
    if _high_bytes_paired(data):
        found = _detect(data)
        if found is not None and is_multibyte(found.codec):
            return Decoded(found.text, found.codec, f"declared {label}, detected {found.codec}")
    return Decoded(data.decode(codec, "replace"), codec)


def _unlabelled(data: bytes, label: str | None, hinted: tuple[str, ...]) -> Decoded:
    what = f"unknown charset {label}" if label else "no charset"
    text = _strict(data, "utf-8")
    if text is not None:
        return Decoded(text, "utf-8", f"{what}, content is UTF-8")
    for codec in hinted:
        text = _strict(data, codec)
        if text is not None:
            return Decoded(text, codec, f"{what}, read as {codec} like the rest of the message")
    return _relabelled(data, what, "cp1252")


def _relabelled(data: bytes, why: str, last_resort: str) -> Decoded:
    """The label did not work: UTF-8, then detection, then `last_resort` with replacement."""
    text = _strict(data, "utf-8")
    if text is not None:
        return Decoded(text, "utf-8", f"{why}; content is UTF-8")
    found = _detect(data)
    if found is not None:
        return Decoded(found.text, found.codec, f"{why}; detected {found.codec}")
    return Decoded(data.decode(last_resort, "replace"), last_resort, f"{why}; undetectable")


def _iso2022_jp_ms(data: bytes) -> str | None:
    """ISO-2022-JP as Windows writes it (CP50220): JIS X 0208 plus the NEC and IBM rows that
    Outlook sends (①, ㈱, ...), which no Python codec accepts. Each JIS pair is moved to its
    Shift_JIS position and the result read as CP932; None if the bytes are not such text."""
    out = bytearray()
    mode, position = b"(B", 0
    for match in [*_JIS_ESCAPE.finditer(data), None]:
        end = match.start() if match else len(data)
        converted = _jis_segment(data[position:end], mode)
        if converted is None:
            return None
        out += converted
        if match:
            mode, position = match.group(1), match.end()
    try:
        return bytes(out).decode("cp932")
    except UnicodeError:
        return None


def _jis_segment(segment: bytes, mode: bytes) -> bytes | None:
    if mode in (b"(B", b"(J"):
        return segment if segment.isascii() else None
    if mode == b"(I":  # JIS X 0201 katakana -> half-width katakana bytes
        return bytes(b + 0x80 for b in segment) if all(0x21 <= b <= 0x5F for b in segment) else None
    if mode not in (b"$@", b"$B"):
        return None  # JIS X 0212 has no Shift_JIS form
    out, i = bytearray(), 0
    while i < len(segment):
        if segment[i] in b"\r\n":  # broken encoders stay in two-byte mode across lines
            out.append(segment[i])
            i += 1
            continue
        j1, j2 = segment[i], segment[i + 1] if i + 1 < len(segment) else 0
        if not (0x21 <= j1 <= 0x7E and 0x21 <= j2 <= 0x7E):
            return None
        s1 = (j1 + 1) // 2 + (0x70 if j1 <= 0x5E else 0xB0)
        s2 = j2 + (0x1F + (j2 >= 0x60) if j1 % 2 else 0x7E)
        out += bytes((s1, s2))
        i += 2
    return bytes(out)


def _high_bytes_paired(data: bytes) -> bool:
    """True when non-ASCII bytes mostly come in runs, as in CJK double-byte text.

    Western text in a single-byte charset has isolated accented letters between ASCII ones;
    EUC-KR, GBK, Big5 or Shift_JIS text is made of byte pairs. This cheap test keeps detection
    (and its cp1250-versus-latin-1 guesses) away from ordinary European mail.
    """
    sample = data[:_SAMPLE]
    high = len(sample) - len(sample.translate(None, _HIGH))
    isolated = len(_ISOLATED_HIGH.findall(sample))
    return high >= 4 and isolated * 4 <= high


def _detect(data: bytes) -> Decoded | None:
    import charset_normalizer  # ~3 MB: imported where undeclared charsets are first met

    try:
        best = charset_normalizer.from_bytes(data).best()
    except Exception:  # a detector bug must not cost the body; callers record "undetectable"
        return None
    if best is None:
        return None
    for codec in codec_candidates(best.encoding) or (best.encoding,):
        text = _strict(data, codec)
        if text is not None:
            return Decoded(text, codec)
    return Decoded(str(best), best.encoding)
