"""Status by email: which messages ask where a case stands, and who may be told."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailbot.core.correlate import ref_pattern
from mailbot.core.parse import parse
from mailbot.core.status import CaseState, asks_for_status, may_answer, refs_in_text

REFS = ref_pattern("MB")


def mail(body: str, subject: str = "Re: [MB-000123] Deposit missing") -> bytes:
    return (
        f"From: jane@customer.test\r\nSubject: {subject}\r\nMessage-ID: <s@x>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()


@pytest.mark.parametrize(
    "body",
    [
        "status",
        "Status?",
        "What's the status of my ticket?",
        "any update?",
        "Hi, status please. Thanks",
        "상태",
        "진행 상황 알려주세요",
        "상태 확인 부탁드립니다",
        "状态",
        "请问我的工单状态？",
        "進度？",
        "ステータス",
        "問い合わせの状況を教えてください",
        "MB-000123 状态",
        "status\r\n\r\nOn Mon, Support wrote:\r\n> We have received your request MB-000123",
    ],
)
def test_short_status_words_in_four_languages_ask_for_status(body: str) -> None:
    assert asks_for_status(parse(mail(body)), REFS)


@pytest.mark.parametrize(
    "body",
    [
        "My withdrawal is still pending, what is the status? I sent 2 BTC on Monday.",
        "Update: I found the transaction hash, it is 0xabc",
        "계정 상태가 정지로 나와요. 왜 그런가요?",
        "我的账户状态显示冻结，怎么回事",
        "アカウントのステータスが「停止中」になっています。理由を教えてください。",
        "Thanks!",
        "",
    ],
)
def test_real_messages_that_mention_the_word_do_not(body: str) -> None:
    assert not asks_for_status(parse(mail(body)), REFS)


def test_an_empty_body_with_status_in_the_subject_asks() -> None:
    assert asks_for_status(parse(mail("", subject="status MB-000123")), REFS)


def test_references_in_the_body_are_found() -> None:
    assert refs_in_text(parse(mail("status MB-000123 and MB-000124", "hi")), REFS) == (
        "MB-000123",
        "MB-000124",
    )


def state(**kw: object) -> CaseState:
    base: dict[str, object] = {
        "ref": "MB-000123",
        "owner": "jane@customer.test",
        "open": True,
        "due": datetime(2026, 11, 24, 1, tzinfo=UTC),
        "waiting_for": "team",
        "recent_answers": 0,
    }
    return CaseState(**{**base, **kw})  # type: ignore[arg-type]


def test_only_the_owner_is_answered_and_only_so_often() -> None:
    assert may_answer(state(), "Jane@Customer.test", max_per_hour=3) == ""
    assert "not the ticket's customer" in may_answer(state(), "eve@evil.test", max_per_hour=3)
    assert "rate limit" in may_answer(state(recent_answers=3), "jane@customer.test", max_per_hour=3)
