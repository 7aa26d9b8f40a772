"""The hand-written corpus (tests/corpus/README.md): every .eml against its .json.

Attachments are compared as ordered lists: the README defines them "in MIME-tree order", and
the order is meaningful (it is the order a mail client shows them in)."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from mailbot.core.autoreply import loop_verdict
from mailbot.core.parse import message_id_of, parse
from mailbot.domain import ParsedMail

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "mail"
MAILS = sorted(CORPUS.glob("*.eml"))
# Expectations judged wrong after real effort: {stem: reason}. Keep this empty if at all possible.
WRONG_EXPECTATIONS: dict[str, str] = {}


def collapse(text: str) -> str:
    """The README's whitespace rule: every run of Unicode whitespace (incl. NBSP) -> one space."""
    return re.sub(r"\s+", " ", text).strip()


def cases() -> list[Any]:
    params = []
    for path in MAILS:
        reason = WRONG_EXPECTATIONS.get(path.stem)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(path, id=path.stem[:3], marks=marks))
    return params


@cache
def parsed(path: Path) -> ParsedMail:
    return parse(path.read_bytes())


def expected(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    return data


def test_the_corpus_is_complete() -> None:
    assert len(MAILS) == 69
    assert all(path.with_suffix(".json").exists() for path in MAILS)


@pytest.mark.parametrize("path", cases())
def test_headers(path: Path) -> None:
    mail, want = parsed(path), expected(path)
    assert mail.subject == want["subject"]
    assert mail.from_address == want["from_address"]
    assert mail.from_name == want["from_name"]
    assert (mail.message_id or None) == want["message_id"]
    assert message_id_of(path.read_bytes()) == mail.message_id
    assert (mail.in_reply_to or None) == want["in_reply_to"]
    assert list(mail.references) == want["references"]


@pytest.mark.parametrize("path", cases())
def test_body(path: Path) -> None:
    mail, want = parsed(path), expected(path)
    new, full = collapse(mail.new_text), collapse(mail.text)
    assert new.startswith(want["body_starts_with"]), new[:200]
    for snippet in want["body_contains"]:
        assert snippet in full
    for snippet in want["new_text_excludes"]:
        assert snippet not in new


@pytest.mark.parametrize("path", cases())
def test_attachments(path: Path) -> None:
    mail, want = parsed(path), expected(path)
    got = [{"filename": a.filename, "content_type": a.content_type} for a in mail.attachments]
    assert got == want["attachments"]
    assert all(a.size > 0 for a in mail.attachments)


@pytest.mark.parametrize("path", cases())
def test_auto_reply_and_delivery_report(path: Path) -> None:
    mail, want = parsed(path), expected(path)
    verdict = loop_verdict(
        mail, own_addresses=["support@example.test"], recent_acks_to_sender=0, max_acks_per_hour=3
    )
    assert verdict.may_reply is not want["is_auto_reply"], verdict.reason
    if want["is_auto_reply"]:
        assert verdict.reason.startswith(want["auto_reply_reason"]), verdict.reason
    assert mail.is_delivery_report is want["is_delivery_report"]


def test_the_bounce_names_the_message_it_reports_on() -> None:
    mail = parsed(CORPUS / "016-en-mailer-daemon-dsn.eml")
    assert mail.reported_message_id == "<ticket-48190.1741000501@coinnest.example>"


# Real-world shapes the corpus does not contain, as small synthetic messages.


def test_outlook_iso_2022_jp_with_nec_characters() -> None:
    # CP50220: ① and ㈱ are JIS row 13, which no Python ISO-2022-JP codec accepts.
    raw = b"Content-Type: text/plain; charset=iso-2022-jp\n\n\x1b$B-!-j%F%9%H\x1b(B\n"
    mail = parse(raw)
    assert mail.text == "①㈱テスト"
    assert mail.defects == ()


def test_apple_mail_text_split_around_an_inline_image() -> None:
    raw = (
        b'Content-Type: multipart/mixed; boundary="b"\n\n--b\n'
        b"Content-Type: text/plain; charset=utf-8\n\nBefore the screenshot.\n--b\n"
        b'Content-Type: image/png; name="shot.png"\n'
        b'Content-Disposition: inline; filename="shot.png"\n'
        b"Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--b\n"
        b"Content-Type: text/plain; charset=utf-8\n\nAfter the screenshot.\n--b--\n"
    )
    mail = parse(raw)
    assert collapse(mail.text) == "Before the screenshot. After the screenshot."
    assert [(a.filename, a.content_type, a.size) for a in mail.attachments] == [
        ("shot.png", "image/png", 8)
    ]


def test_bounce_with_the_returned_message() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.test\nContent-Type: multipart/report;"
        b' report-type="delivery-status"; boundary="r"\n\n'
        b"--r\n\nUser unknown\n--r\nContent-Type: message/delivery-status\n\nAction: failed\n"
        b"--r\nContent-Type: message/rfc822\n\nMessage-ID: <ack-7@example.test>\nSubject: ack\n\n"
        b"Thank you\n--r--\n"
    )
    mail = parse(raw)
    assert mail.is_delivery_report and mail.reported_message_id == "<ack-7@example.test>"
    assert mail.new_text == "User unknown" and mail.attachments == ()


def test_forwarded_message_is_in_the_full_text_only() -> None:
    mail = parsed(CORPUS / "010-en-forward-as-attachment-rfc822.eml")
    assert "Unusual activity was detected" in mail.text
    assert "Subject: Action required: verify your wallet" in mail.text
    assert "Unusual activity" not in mail.new_text


def test_oversized_message_keeps_its_headers() -> None:
    raw = (CORPUS / "009-en-nested-related-inline-pdf.eml").read_bytes()
    mail = parse(raw, max_bytes=1000)
    assert mail.subject == "SEPA withdrawal pending since Friday"
    assert mail.text == mail.new_text == "" and mail.attachments == ()
    assert any("over the 1000 limit" in d for d in mail.defects)


UTF8 = b"Content-Type: text/plain; charset=utf-8\n\n"


@pytest.mark.parametrize(
    ("raw", "text", "defect"),
    [
        # a stray byte in UTF-8 text is damage, not a wrong label: the rest survives
        (UTF8 + b"\xec\x95\x88\xeb\x85\x95 \xff ok", "안녕 \ufffd ok", "bad byte"),
        # HTML without a MIME charset says it in <meta>
        (b'Content-Type: text/html\n\n<meta charset="gb2312"><p>\xc4\xe3\xba\xc3</p>', "你好", ""),
        # Windows-1252 under a Latin-1 label is read the way browsers read it
        (b"Content-Type: text/plain; charset=iso-8859-1\n\n\x93quoted\x94 \x80", "“quoted” €", ""),
        # unknown label, UTF-8 content
        (b"Content-Type: text/plain; charset=x-foo\n\n\xe2\x80\x94", "—", "unknown charset x-foo"),
    ],
)  # fmt: skip
def test_body_charsets(raw: bytes, text: str, defect: str) -> None:
    mail = parse(raw)
    assert mail.text == text
    assert any(defect in d for d in mail.defects) if defect else mail.defects == ()


@pytest.mark.parametrize(
    ("header", "subject"),
    [
        # raw 8-bit GBK in the Subject of a GB2312 message: read like the body
        (b"Subject: \xc4\xe3\xba\xc3\nContent-Type: text/plain; charset=gb2312", "你好"),
        # adjacent words in different charsets: whitespace between them goes, text stays
        (b"Subject: =?utf-8?B?7JWI?= =?iso-8859-1?Q?=FC?= x", "안ü x"),
        # text between encoded words keeps its spaces
        (b"Subject: Re: =?utf-8?Q?caf=C3=A9?= and =?utf-8?Q?th=C3=A9?=", "Re: café and thé"),
        # a Q word carrying raw UTF-8, as some webmail sends
        (b"Subject: =?utf-8?Q?\xec\x95\x88_x?=", "안 x"),
    ],
)
def test_subject_decoding(header: bytes, subject: str) -> None:
    assert parse(header + b"\n\nbody").subject == subject
