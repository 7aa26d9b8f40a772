"""Parsing is total: arbitrary bytes and structured-but-broken MIME give a ParsedMail whose
text fields are storable strings (valid UTF-8, no NUL), never an exception."""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbot.core.parse import message_id_of, parse
from mailbot.core.quotes import split_reply
from mailbot.domain import ParsedMail

FAST = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CHARSETS = st.sampled_from(
    [
        "utf-8", "UTF-8", "us-ascii", "iso-8859-1", "windows-1252", "ks_c_5601-1987", "euc-kr",
        "gb2312", "GBK", "gb18030", "big5", "shift_jis", "iso-2022-jp", "utf-16", "utf-7",
        "x-unknown", "unknown-8bit", "", "\"utf-8\"", "utf-8*ko", "bogus?charset",
    ]
)  # fmt: skip
CONTENT_TYPES = st.sampled_from(
    [
        "text/plain", "text/html", "multipart/mixed", "multipart/alternative",
        "multipart/related", "multipart/report; report-type=delivery-status", "multipart/signed",
        "message/rfc822", "message/delivery-status", "text/rfc822-headers", "application/pdf",
        "image/png", "text/csv", "garbage", "", "multipart/", "text/plain; format=flowed",
    ]
)  # fmt: skip
ENCODINGS = st.sampled_from(
    ["7bit", "8bit", "base64", "quoted-printable", "x-uuencode", "binary", "bogus", ""]
)
BOUNDARIES = st.sampled_from(["b1", "b2", "=_x", "", "a b", "--"])
SAMPLE_TEXT = st.sampled_from(
    [
        "Hello, my deposit is missing.",
        "안녕하세요. 출금이 안 됩니다.",
        "你好，提币一直在审核中。",
        "お世話になっております。",
        "€ “quoted” — dash",
        "",
    ]
)
CODECS = st.sampled_from(["utf-8", "cp949", "gb18030", "big5", "cp932", "iso2022_jp", "cp1252"])


@st.composite
def text_bytes(draw: st.DrawFn) -> bytes:
    """Real text in some charset, or noise."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=200))
    return draw(SAMPLE_TEXT).encode(draw(CODECS), "replace")


@st.composite
def encoded_word(draw: st.DrawFn) -> bytes:
    """An RFC 2047 word that may be broken: bad charset, bad base64, missing terminator."""
    charset = draw(CHARSETS).encode("ascii", "replace")
    kind = draw(st.sampled_from([b"B", b"Q", b"b", b"X"]))
    body = draw(st.sampled_from([b"7KO866y4", b"5aSn", b"=E2=80=94_x", b"@@", b"", b"YWJj="]))
    end = draw(st.sampled_from([b"?=", b"", b"?", b"?= "]))
    return b"=?" + charset + b"?" + kind + b"?" + body + end


@st.composite
def header_value(draw: st.DrawFn) -> bytes:
    pieces = draw(
        st.lists(
            st.one_of(
                encoded_word(),
                text_bytes(),
                st.sampled_from([b" ", b"\r\n ", b"\n\t", b'"', b"<a@b.test>", b",", b";"]),
            ),
            max_size=6,
        )
    )
    return b"".join(pieces)


@st.composite
def part_headers(draw: st.DrawFn, ctype: str, boundary: str) -> list[bytes]:
    params = f'; charset={draw(CHARSETS)}; boundary="{boundary}"'
    lines = [f"Content-Type: {ctype}{params}".encode(errors="replace")]
    lines.append(b"Content-Transfer-Encoding: " + draw(ENCODINGS).encode())
    if draw(st.booleans()):
        name = draw(
            st.sampled_from(
                [
                    b'filename="=?UTF-8?B?7ZmU?="',
                    b"filename*=UTF-8''%ED%99%94%00.pdf",
                    b"filename*0*=utf-8''%E4%BA;filename*1*=%A4.csv",
                    b'filename="\xec\x98\xa4.png"',
                    b"filename*=bogus''%FF",
                    b"filename=",
                ]
            )
        )
        lines.append(
            b"Content-Disposition: " + draw(st.sampled_from([b"attachment; ", b""])) + name
        )
    if draw(st.booleans()):
        lines.append(b"X-Junk: " + draw(header_value()))
    return lines


@st.composite
def mime_part(draw: st.DrawFn, depth: int = 0) -> bytes:
    ctype = draw(CONTENT_TYPES)
    boundary = draw(BOUNDARIES)
    lines = draw(part_headers(ctype, boundary))
    if ctype.startswith("multipart") and depth < 3:
        children = draw(st.lists(mime_part(depth + 1), max_size=3))
        mark = b"--" + boundary.encode()
        body = b"".join(mark + b"\r\n" + child + b"\r\n" for child in children)
        body += draw(st.sampled_from([mark + b"--", b"", mark]))
    elif ctype == "message/rfc822" and depth < 3:
        body = draw(message(depth + 1))
    else:
        body = draw(text_bytes())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


@st.composite
def message(draw: st.DrawFn, depth: int = 0) -> bytes:
    top = [
        b"From: " + draw(header_value()),
        b"Subject: " + draw(header_value()),
        b"Message-ID: " + draw(st.sampled_from([b"<a@b>", b"", b"<\xff@x>", b"<<>>"])),
        b"Date: " + draw(st.sampled_from([b"Mon, 3 Mar 2025 10:00:00 +0000", b"yesterday", b""])),
        b"Return-Path: " + draw(st.sampled_from([b"<>", b"<a@b.test>"])),
    ]
    raw = b"\r\n".join(top) + b"\r\n" + draw(mime_part(depth))
    return raw.replace(b"\r\n", b"\n") if draw(st.booleans()) else raw


def text_fields(mail: ParsedMail) -> Iterator[str]:
    yield from (mail.message_id, mail.in_reply_to, mail.subject, mail.from_address)
    yield from (mail.from_name, mail.text, mail.new_text, mail.reported_message_id)
    yield from (*mail.references, *mail.to, *mail.defects)
    yield from (value for pair in mail.headers for value in pair)
    yield from (value for a in mail.attachments for value in (a.filename, a.content_type))


def assert_sane(mail: ParsedMail) -> None:
    assert isinstance(mail, ParsedMail)
    for value in text_fields(mail):
        assert isinstance(value, str)
        value.encode("utf-8")  # no lone surrogates: every field must be storable
        assert "\x00" not in value
    assert all(a.size >= 0 for a in mail.attachments)
    assert isinstance(mail.is_delivery_report, bool)


@FAST
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    assert_sane(parse(raw))
    assert isinstance(message_id_of(raw), str)


@FAST
@given(message())
def test_broken_mime_never_raises(raw: bytes) -> None:
    assert_sane(parse(raw))
    assert message_id_of(raw) == parse(raw).message_id


@settings(max_examples=100, deadline=None)
@given(message(), st.integers(min_value=0, max_value=400))
def test_oversized_input_is_headers_only(raw: bytes, limit: int) -> None:
    mail = parse(raw, max_bytes=limit)
    assert_sane(mail)
    if len(raw) > limit:
        assert mail.text == "" and mail.attachments == ()
        assert any("limit" in d for d in mail.defects)


@FAST
@given(st.text(max_size=500))
def test_split_reply_keeps_only_lines_of_the_input(text: str) -> None:
    parts = split_reply(text)
    lines = {line.strip() for line in text.splitlines()}
    assert all(line.strip() in lines for line in parts.new_text.splitlines())
