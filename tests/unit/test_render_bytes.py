"""render.alternative_bytes puts the wire bytes together itself: they must be exactly those of
the email package's MIMEMultipart + MIMEText written with compat32 (what it did before)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from email import policy
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.core.render import alternative_bytes

_WIRE = policy.compat32.clone(linesep="\r\n")


def reference(headers: Sequence[tuple[str, str]], text: str, html: str) -> bytes:
    """The implementation alternative_bytes replaced (the email package builds the tree)."""
    msg = MIMEMultipart("alternative")
    for name, value in headers:
        msg[name] = value if value.isascii() else Header(value, "utf-8")  # type: ignore[assignment]
    msg.attach(_part(text, "plain"))
    msg.attach(_part(html, "html"))
    return msg.as_bytes(policy=_WIRE)


def _part(body: str, subtype: str) -> MIMEText:
    plain = body.isascii() and all(len(line) <= 900 for line in body.splitlines())
    return MIMEText(body, subtype, "us-ascii" if plain else "utf-8")


def same(headers: list[tuple[str, str]], text: str, html: str, seed: int) -> None:
    random.seed(seed)  # the boundary is random: both draw it the same way
    expected = reference(headers, text, html)
    random.seed(seed)
    assert alternative_bytes(headers, text, html) == expected


ACK_HEADERS = [
    ("From", "=?utf-8?q?Example_Exchange_Support?= <support@example.test>"),
    ("To", "user1.cpu@naver.com"),
    ("Subject", "[MB-000123] 입금이 안 들어왔어요 확인 부탁드립니다 " * 3),
    ("Date", "Mon, 23 Nov 2026 02:00:00 +0000"),
    ("Message-ID", "<MB-000123.ack.1.0123456789abcdef@example.test>"),
    ("In-Reply-To", "<bench.cpu.1.abcdef@mail.customer.example>"),
    ("References", " ".join(f"<ref.{i}.abcdefabcdef@mail.customer.example>" for i in range(11))),
    ("Auto-Submitted", "auto-replied"),
    ("X-Auto-Response-Suppress", "All"),
    ("Precedence", "auto_reply"),
]


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("Hello,\n\nthanks for writing.\nMB-000123", "<p>Hello</p>\n<p>MB-000123</p>"),
        ("안녕하세요 고객님,\n\n문의 주셔서 감사합니다.", "<p>안녕하세요</p>"),
        ("", ""),
        ("x" * 901, "short\r\nlines\rmixed\n"),
        ("ends with a break\n", "\n\n"),
        ("--===============1234567890123456789==\n", "<p>é</p>"),
        ("a line\x85with NEL\u2028and LS", "tab\tand  spaces  "),
    ],
)
def test_same_bytes_as_the_email_package(text: str, html: str) -> None:
    for seed in range(3):
        same(ACK_HEADERS, text, html, seed)


def test_same_bytes_when_the_boundary_is_in_the_text() -> None:
    random.seed(5)
    token = random.randrange(2**63 - 1)
    clash = f"--{'=' * 15}{token:019d}==\n"
    same(ACK_HEADERS, clash, clash, 5)


@settings(max_examples=500, deadline=None)
@given(
    name=st.sampled_from(["To", "Date", "Message-ID", "In-Reply-To", "References", "Subject"]),
    value=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=90),
)
def test_short_ascii_header_lines_are_folded_as_compat32_does(name: str, value: str) -> None:
    same([(name, value)], "text", "<p>html</p>", 1)


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)
_header = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=200
).filter(lambda v: not any(0x7F <= ord(c) <= 0x9F for c in v))


@settings(max_examples=300, deadline=None)
@given(
    subject=_header,
    to=_header,
    text=_text | st.text("ab \n\r", max_size=2000),
    html=_text,
    seed=st.integers(0, 10**6),
)
def test_same_bytes_for_any_values(subject: str, to: str, text: str, html: str, seed: int) -> None:
    headers = [*ACK_HEADERS[:1], ("To", to), ("Subject", subject), *ACK_HEADERS[3:]]
    same(headers, text, html, seed)
