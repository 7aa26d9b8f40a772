"""Table-driven tests of quotes.split_reply: new text vs quoted history vs signature."""

from __future__ import annotations

import pytest

from mailbot.core.quotes import new_text, split_reply

NEW = "Please check my withdrawal WD-1."
OLD = "We are reviewing your request."
LISTING = "Held:\n\nFrom: a@x.test\nTo: b@x.test\nSubject: s"

CASES: list[tuple[str, str]] = [
    ("plain, nothing quoted", f"{NEW}\n\nThanks"),
    ("'>' quote without attribution", f"{NEW}\n\n> {OLD}\n> more"),
    ("Gmail en", f"{NEW}\n\nOn Sun, 2 Mar 2025 at 18:03, Support <s@x.test> wrote:\n\n> {OLD}"),
    (
        "Gmail en, attribution wrapped over two lines",
        f"{NEW}\n\nOn Sun, 2 Mar 2025 at 18:03, CoinNest Support <\ns@x.test> wrote:\n> {OLD}",
    ),
    (
        "Gmail ko",
        f"{NEW}\n\n2025년 3월 3일 (월) 오후 4:05, Support <s@x.test>님이 작성:\n\n> {OLD}",
    ),
    ("Gmail zh", f"{NEW}\n\nSupport <s@x.test> 于2025年3月3日周一 17:02写道：\n\n> {OLD}"),
    ("Gmail ja", f"{NEW}\n\n2025年3月3日(月) 10:12 Support <s@x.test>:\n\n> {OLD}"),
    (
        "Gmail ja, 書きました",
        f"{NEW}\n\n2025年3月3日 10:12 Support <s@x.test>が書きました:\n> {OLD}",
    ),
    ("Apple Mail", f"{NEW}\n\n> On 3 Mar 2025, at 11:21, Support <s@x.test> wrote:\n>\n> {OLD}"),
    (
        "iPhone ko",
        f"{NEW}\n\niPhone에서 보냄\n\n> 2025. 3. 3. 오후 2:05, Support <s@x.test> 작성:\n> {OLD}",
    ),
    (
        "iPhone zh",
        f"{NEW}\n\n发自我的iPhone\n\n> 在 2025年3月3日，15:20，Support <s@x.test> 写道：\n> {OLD}",
    ),
    (
        "iPhone ja",
        f"{NEW}\n\niPhoneから送信\n\n> 2025/03/03 14:05、Support <s@x.test>のメール:\n> {OLD}",
    ),
    ("Thunderbird ko", f"{NEW}\n\n25. 3. 3. 오전 10:12에 Support 이(가) 쓴 글:\n> {OLD}"),
    ("Thunderbird ja", f"{NEW}\n\n2025/03/03 10:12 に Support さんは書きました:\n> {OLD}"),
    ("Thunderbird zh-TW", f"{NEW}\n\n於 2025/3/3 下午 2:05, Support 寫道:\n> {OLD}"),
    ("Coremail 163", f'{NEW}\n\n在 2025-03-03 18:40:12，"Support" <s@x.test> 写道：\n>{OLD}'),
    (
        "attribution of an HTML mail, quote not marked with '>'",
        f"{NEW}\n\nOn Mon, 3 Mar 2025 at 09:00, Support <s@x.test> wrote:\n{OLD}",
    ),
    (
        "Outlook -----Original Message-----",
        f"{NEW}\n\n-----Original Message-----\nFrom: Support [mailto:s@x.test]\n"
        f"Sent: Friday, February 28, 2025 4:51 PM\nSubject: RE: x\n\n{OLD}",
    ),
    (
        "OWA rule and header block",
        f"{NEW}\n\n________________________________\nFrom: Support <s@x.test>\n"
        f"Sent: 03 March 2025 07:12\nTo: me@x.test\nSubject: x\n\n{OLD}",
    ),
    (
        "Outlook header block without a rule",
        f"{NEW}\n\nFrom: Support <s@x.test>\nSent: Monday, 3 March 2025 07:12\nTo: me\n\n{OLD}",
    ),
    (
        "Outlook ko",
        f"{NEW}\n\n-----Original Message-----\n보낸 사람: Support <s@x.test>\n"
        f"보낸 날짜: 2025년 3월 3일 월요일 오후 3:02\n받는 사람: me\n제목: x\n\n{OLD}",
    ),
    (
        "Outlook zh",
        f"{NEW}\n\n________________________________\n发件人: Support <s@x.test>\n"
        f"发送时间: 2025年3月3日 15:40\n收件人: me\n主题: x\n\n{OLD}",
    ),
    (
        "Outlook ja",
        f"{NEW}\n\n________________________________\n差出人: Support <s@x.test>\n"
        f"送信日時: 2025年3月3日 7:12\n宛先: me\n件名: x\n\n{OLD}",
    ),
    (
        "Naver",
        f'{NEW}\n\n-----Original Message-----\nFrom: "Support"<s@x.test>\nTo: "me"<m@x.test>;\n'
        f"Cc:\nSent: 2025-03-03 (월) 17:20:21 (GMT+09:00)\nSubject: x\n\n{OLD}",
    ),
    (
        "QQ / Foxmail",
        f"{NEW}\n\n------------------ 原始邮件 ------------------\n"
        f'发件人: "Support" <s@x.test>;\n发送时间: 2025年3月3日(星期一) 下午5:33\n\n{OLD}',
    ),
    (
        "Yahoo! JAPAN",
        f"{NEW}\n\n----- Original Message -----\n差出人: Support <s@x.test>\n"
        f"日付: 2025/3/3 月曜日 17:20\n\n{OLD}",
    ),
    (
        "Gmail forward",
        f"{NEW}\n\n---------- Forwarded message ---------\nFrom: Support <s@x.test>\n\n{OLD}",
    ),
    ("Apple forward", f"{NEW}\n\nBegin forwarded message:\n\nFrom: Support <s@x.test>\n{OLD}"),
    ("'-- ' signature", f"{NEW}\n\n-- \nAlex Chen\n{OLD}"),
    (
        "signature, then a quote",
        f"{NEW}\n\n-- \nAlex\n\n25. 3. 3. 오전 10:12에 Support 이(가) 쓴 글:\n> {OLD}",
    ),
    (
        "bottom post: quote first, new text after, then signature",
        f"On 03/03/2025 10:12, Support wrote:\n> {OLD}\n>\n> Best\n\n{NEW}\n\n-- \nAlex\n{OLD}",
    ),
]


@pytest.mark.parametrize(("text"), [pytest.param(text, id=name) for name, text in CASES])
def test_new_text_is_only_the_new_text(text: str) -> None:
    parts = split_reply(text)
    assert parts.new_text.startswith(NEW)
    assert OLD not in parts.new_text
    assert "Support" not in parts.new_text and "-- " not in parts.new_text
    assert parts.new_text.rstrip().endswith(("WD-1.", "Thanks"))  # no mobile signature left
    assert OLD not in text or OLD in parts.quoted or OLD in parts.signature


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a sentence that ends in "wrote:" but has no date and no quote below
        ("Your agent wrote:\nthat it takes a day.", "Your agent wrote:\nthat it takes a day."),
        # an address listing (018) has no Sent/Date line: not an Outlook header block
        (LISTING, LISTING),
        # dashes alone are not a separator; '--' inside a line is not a signature
        ("A\n-----\nB -- C", "A\n-----\nB -- C"),
        # interleaved answers keep every answer
        ("> question 1\nanswer 1\n> question 2\nanswer 2", "answer 1\nanswer 2"),
        ("", ""),
        ("> only a quote", ""),
    ],
)  # fmt: skip
def test_what_stays_new(text: str, expected: str) -> None:
    assert new_text(text) == expected


def test_signature_and_history_are_kept_separately() -> None:
    parts = split_reply(f"{NEW}\n-- \nAlex Chen\nQuant Desk\n\n-----Original Message-----\n{OLD}")
    assert parts.new_text == NEW
    assert parts.signature == "Alex Chen\nQuant Desk"
    assert parts.quoted.startswith("-----Original Message-----") and OLD in parts.quoted


def test_paragraphs_survive_and_blank_runs_collapse() -> None:
    assert new_text("a\n\n\n\nb\n> q\n\nc") == "a\n\nb\n\nc"
