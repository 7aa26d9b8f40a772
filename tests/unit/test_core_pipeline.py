"""Table-driven tests of the pure stages: autoreply, correlate, decide, sla, render."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest

from mailbot.core.autoreply import loop_verdict
from mailbot.core.correlate import correlate, ref_pattern
from mailbot.core.decide import decide
from mailbot.core.parse import message_id_of, parse
from mailbot.core.render import (
    AckExtras,
    RenderedParts,
    Sender,
    alternative_bytes,
    header_safe,
    make_message_id,
    render_ack,
)
from mailbot.core.sla import ALWAYS_OPEN, SlaPolicy, Windows, add_open_time
from mailbot.domain import Action, Classification, LoopVerdict, Promise, ThreadMatch, TicketView

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
WINDOWS = {"critical": 1.0, "high": 4.0, "normal": 24.0, "low": 72.0}
SLA = SlaPolicy(Windows(WINDOWS, WINDOWS), ALWAYS_OPEN)
PROMISE = Promise(NOW + timedelta(hours=4), NOW + timedelta(hours=4), 4, True, "UTC", "test")
EXTRAS = AckExtras(PROMISE, UTC)


def mail(headers: str, body: str = "hello") -> bytes:
    base = "From: Jane <jane@customer.test>\r\nTo: support@example.test\r\nSubject: help\r\n"
    return (base + headers + "\r\n" + body).encode()


@pytest.mark.parametrize(
    ("headers", "may_reply", "reason"),
    [
        ("", True, ""),
        ("Auto-Submitted: no\r\n", True, ""),
        ("Auto-Submitted: auto-replied\r\n", False, "auto-submitted: auto-replied"),
        ("Auto-Submitted: auto-generated\r\n", False, "auto-submitted"),
        ("Precedence: bulk\r\n", False, "precedence: bulk"),
        ("Precedence: list\r\n", False, "precedence"),
        ("Precedence: first-class\r\n", True, ""),
        ("List-Id: <news.example.test>\r\n", False, "list-id"),
        ("List-Unsubscribe: <mailto:u@example.test>\r\n", False, "list-unsubscribe"),
        ("X-Autoreply: yes\r\n", False, "x-autoreply"),
        ("X-Autorespond: yes\r\n", False, "x-autorespond"),
        ("X-Auto-Response-Suppress: All\r\n", False, "x-auto-response-suppress"),
        ("Return-Path: <>\r\n", False, "empty-return-path"),
        ("Return-Path: <jane@customer.test>\r\n", True, ""),
        # precedence when several signals are present (tests/corpus/README.md)
        ("List-Unsubscribe: <mailto:u@x.test>\r\nList-Id: <n.x.test>\r\n", False, "list-id"),
        ("Precedence: bulk\r\nX-Autoreply: yes\r\n", False, "x-autoreply"),
        ("Return-Path: <>\r\nAuto-Submitted: auto-generated\r\n", False, "auto-submitted"),
        (
            "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n",
            False,
            "delivery-report",
        ),
    ],
)
def test_loop_verdict_headers(headers: str, may_reply: bool, reason: str) -> None:
    verdict = loop_verdict(
        parse(mail(headers)),
        own_addresses=["support@example.test"],
        recent_acks_to_sender=0,
        max_acks_per_hour=3,
    )
    assert verdict.may_reply is may_reply
    assert verdict.reason.startswith(reason)


@pytest.mark.parametrize(
    ("sender", "may_reply", "reason"),
    [
        ("MAILER-DAEMON@mx.example.test", False, "mailer-daemon"),
        ("postmaster@example.test", False, "robot sender"),
        ("bounces+x@lists.example.test", False, "robot sender"),
        ("no-reply@bank.example.test", False, "no-reply"),
        ("noreply@bank.example.test", False, "no-reply"),
        ("Do-Not-Reply@bank.example.test", False, "no-reply"),
        ("support@example.test", False, "sender is one of our own"),  # ourselves
        ("nora.reply@customer.test", True, ""),
        ("not an address", False, "no usable sender"),
    ],
)
def test_loop_verdict_senders(sender: str, may_reply: bool, reason: str) -> None:
    raw = f"From: {sender}\r\nSubject: x\r\n\r\nbody".encode()
    verdict = loop_verdict(
        parse(raw),
        own_addresses=["Support@Example.test"],
        recent_acks_to_sender=0,
        max_acks_per_hour=3,
    )
    assert verdict.may_reply is may_reply, verdict
    assert verdict.reason.startswith(reason)


def test_rate_limit_per_sender() -> None:
    parsed = parse(mail(""))
    kw: dict[str, Any] = {"own_addresses": [], "max_acks_per_hour": 3}
    assert loop_verdict(parsed, recent_acks_to_sender=2, **kw).may_reply
    assert not loop_verdict(parsed, recent_acks_to_sender=3, **kw).may_reply


def test_correlate_prefers_headers_then_subject_reference() -> None:
    pattern = ref_pattern("MB")
    reply = parse(
        mail("In-Reply-To: <ack-1@example.test>\r\nReferences: <c-1@x> <ack-1@example.test>\r\n")
    )
    assert correlate(
        reply, tickets_by_message_id={"<ack-1@example.test>": 7}, tickets_by_ref={}, pattern=pattern
    ) == ThreadMatch(7, "references <ack-1@example.test>")
    by_ref = parse(mail("").replace(b"Subject: help", b"Subject: Re: [MB-000042] still broken"))
    owned = {"MB-000042": (42, "jane@customer.test")}
    assert correlate(by_ref, tickets_by_message_id={}, tickets_by_ref=owned, pattern=pattern) == (
        ThreadMatch(42, "subject names MB-000042")
    )
    # Someone else typing the reference does not join the ticket.
    other = {"MB-000042": (42, "someone@else.test")}
    assert (
        correlate(by_ref, tickets_by_message_id={}, tickets_by_ref=other, pattern=pattern).ticket_id
        is None
    )
    assert (
        correlate(by_ref, tickets_by_message_id={}, tickets_by_ref={}, pattern=pattern).ticket_id
        is None
    )


def classification(urgency: str = "high", confidence: float = 0.9) -> Classification:
    return Classification("deposit_withdrawal", urgency, "en", confidence, "v1")


def test_decide_new_ticket_promises_the_urgency_window() -> None:
    d = decide(
        classification("critical"),
        ThreadMatch(None, "none"),
        LoopVerdict(True),
        received=NOW,
        sender="jane@customer.test",
        sla=SLA,
        triage_threshold=0.3,
    )
    assert d.action is Action.NEW_TICKET and d.send_ack
    assert d.promise is not None and d.promise.first_response_due == NOW + timedelta(hours=1)
    assert d.template == "deposit_withdrawal"
    assert any("ack: yes" in r for r in d.reasons)


def test_decide_low_confidence_uses_generic_template_and_robot_gets_no_ack() -> None:
    d = decide(
        classification(confidence=0.1),
        ThreadMatch(None, "none"),
        LoopVerdict(False, "Precedence: bulk"),
        received=NOW,
        sender="jane@customer.test",
        sla=SLA,
        triage_threshold=0.3,
    )
    assert d.template == "default" and not d.send_ack
    assert any("Precedence: bulk" in r for r in d.reasons)


def test_decide_follow_up_gets_no_ack() -> None:
    d = decide(
        classification(),
        ThreadMatch(5, "references <x>"),
        LoopVerdict(True),
        received=NOW,
        sender="jane@customer.test",
        sla=SLA,
        triage_threshold=0.3,
    )
    assert d.action is Action.FOLLOW_UP and d.ticket_id == 5 and not d.send_ack


def test_time_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError):
        add_open_time(NOW.replace(tzinfo=None), timedelta(hours=1), ALWAYS_OPEN)


class EchoRenderer:
    def render(self, language: str, name: str, context: Mapping[str, Any]) -> RenderedParts:
        t = context["ticket"]
        return RenderedParts(
            subject=f"Received: {t['subject']}",
            text=f"{t['ref']} {t['customer_name']} {context['promise']['hours']}h",
            html=f"<p>{t['ref']}</p>",
        )


def view(subject: str, name: str = "Jane") -> TicketView:
    return TicketView(
        "MB-000001",
        "jane@customer.test",
        name,
        subject,
        "trading",
        "high",
        "en",
        NOW,
        NOW + timedelta(hours=4),
    )


def test_render_ack_headers_thread_and_mark_auto_reply() -> None:
    out = render_ack(
        view("Order stuck"),
        renderer=EchoRenderer(),
        template="trading",
        sender=Sender("support@example.test", "Support", None),
        in_reply_to="<c-1@customer.test>",
        references=("<c-0@customer.test>",),
        now=NOW,
        extras=EXTRAS,
    )
    msg = message_from_bytes(out.raw, policy=policy.default)
    assert msg["Subject"] == "[MB-000001] Received: Order stuck"
    assert msg["In-Reply-To"] == "<c-1@customer.test>"
    assert msg["References"] == "<c-0@customer.test> <c-1@customer.test>"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert (
        msg["Message-ID"]
        == out.message_id
        == make_message_id("MB-000001", "ack", 1, "example.test")
    )
    assert "4h" in msg.get_body(preferencelist=("plain",)).get_content()


@pytest.mark.parametrize(
    "evil",
    [
        "hi\r\nBcc: victim@example.test",
        "hi\nBcc: victim@example.test",
        "hi\u2028Bcc: victim@example.test",
        "hi\x00\rBcc: victim@example.test",
    ],
)
def test_customer_text_cannot_inject_headers(evil: str) -> None:
    out = render_ack(
        view(evil, name=evil),
        renderer=EchoRenderer(),
        template="x",
        sender=Sender("support@example.test", "Support", None),
        in_reply_to="",
        references=(),
        now=NOW,
        extras=EXTRAS,
    )
    msg = message_from_bytes(out.raw, policy=policy.default)
    assert msg["Bcc"] is None
    assert "Bcc: victim" in str(msg["Subject"])  # kept as text, on one line
    assert header_safe(evil).count("\n") == 0


def test_message_id_of_reads_headers_only() -> None:
    assert message_id_of(mail("Message-ID: <abc@x>\r\n")) == "<abc@x>"
    assert message_id_of(b"no headers at all") == ""


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: Deposit missing", "deposit missing"),
        ("RE: FW: Deposit  missing", "deposit missing"),
        ("回复：Deposit missing", "deposit missing"),
        ("答复: 转发: 充值未到账", "充值未到账"),
        ("Re: [MB-000123] Deposit missing", "deposit missing"),
        ("AW: WG: deposit missing", "deposit missing"),
        ("転送: 入金が反映されない", "入金が反映されない"),
        ("Re[2]: Deposit missing", "deposit missing"),
        ("Re：Deposit missing", "deposit missing"),
        ("Re:", ""),
        ("Regarding my deposit", "regarding my deposit"),  # "Re" inside a word stays
    ],
)
def test_normalise_subject(subject: str, expected: str) -> None:
    from mailbot.core.correlate import normalise_subject

    assert normalise_subject(subject) == expected


def test_same_sender_same_subject_is_the_last_resort() -> None:
    pattern = ref_pattern("MB")
    again = parse(mail("").replace(b"Subject: help", b"Subject: RE: Deposit missing"))
    recent = [(9, "Something else"), (5, "Deposit missing")]
    match = correlate(
        again,
        tickets_by_message_id={},
        tickets_by_ref={},
        pattern=pattern,
        recent_from_sender=recent,
    )
    assert match.ticket_id == 5 and "same sender and subject" in match.reason
    short = parse(mail("").replace(b"Subject: help", b"Subject: Re: ?"))
    assert (
        correlate(
            short,
            tickets_by_message_id={},
            tickets_by_ref={},
            pattern=pattern,
            recent_from_sender=[(1, "?")],
        ).ticket_id
        is None
    )


@pytest.mark.parametrize("value", ["a\r\nBcc: x@y.test", "a\nb", "a\x00b", "a\u2028b"])
def test_alternative_bytes_refuses_a_header_value_that_is_not_one_line(value: str) -> None:
    with pytest.raises(ValueError, match="unsafe Subject"):
        alternative_bytes([("Subject", value)], "text", "<p>html</p>")


def test_alternative_bytes_encodes_non_ascii_and_uses_crlf() -> None:
    raw = alternative_bytes([("Subject", "[MB-1] 입금 확인")], "안녕하세요", "<p>x</p>")
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == "[MB-1] 입금 확인"
    assert msg.get_body(preferencelist=("plain",)).get_content().strip() == "안녕하세요"
