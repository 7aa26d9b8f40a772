"""Status by email: a customer who writes just "status" (상태, 状态, ステータス, ...) about their
case gets its current state instead of opening a request.

Only short messages count: "status?", "상태 알려주세요", "MB-000123 状态" — never a long
message that happens to contain the word, which is a real follow-up and must reach an agent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from mailbot.domain import ParsedMail

# Words that ask where a case stands, in the four shipped languages (lower case).
STATUS_WORDS = (
    "status",
    "update",
    "any update",
    "any news",
    "상태",
    "진행 상황",
    "진행상황",
    "처리 상황",
    "处理进度",
    "状态",
    "进度",
    "進度",
    "狀態",
    "ステータス",
    "状況",
    "進捗",
    "進捗状況",
)
# Longer than this (after quotes, signature and references are removed) is a real message.
MAX_REQUEST_CHARS = 60
# Politeness around the word that does not make it a new request.
_FILLER = re.compile(
    r"(please|pls|plz|hi|hello|hey|thanks|thank you|what(?:'s| is)|the|of|on|my|case|ticket|"
    r"request|check|\?|？|!|！|\.|。|,|、|:|：|"
    r"안녕하세요|감사합니다|제|저의|"
    r"알려\s*주세요|알려주세요|확인\s*부탁드립니다|확인|부탁드립니다|문의|요|"
    r"您好|你好|请问|请|查询|查看|一下|我的|工单|工單|单号|單號|案件|吗|嗎|谢谢|謝謝|"
    r"こんにちは|お問い合わせ|問い合わせ|を|の|教えて(ください|下さい)?|確認|お願いします|"
    r"お願い致します|は|です|か)",
    re.IGNORECASE,
)


def asks_for_status(mail: ParsedMail, refs: re.Pattern[str]) -> bool:
    """True when the new part of the message (or, if empty, the subject) is a status word
    with at most some politeness and ticket references around it."""
    text = (mail.new_text or mail.text).strip()
    if not text:
        text = mail.subject
    text = refs.sub(" ", text).strip().casefold()
    if not text or len(text) > MAX_REQUEST_CHARS:
        return False
    found = [w for w in STATUS_WORDS if w in text]
    if not found:
        return False
    rest = text
    for word in sorted(found, key=len, reverse=True):
        rest = rest.replace(word, " ")
    rest = _FILLER.sub(" ", rest)
    return not rest.strip(" \t\r\n-–—~_*[]()")


def refs_in_text(mail: ParsedMail, refs: re.Pattern[str]) -> tuple[str, ...]:
    """Ticket references written in the message itself ("status MB-000123")."""
    return tuple(dict.fromkeys(refs.findall(mail.new_text or mail.text)))


@dataclass(frozen=True, slots=True)
class CaseState:
    """What a status answer tells: the state, the time we promised, who must act next."""

    ref: str
    owner: str  # the customer address that owns the ticket
    open: bool
    due: datetime | None  # the promise now running: first response, else resolution
    waiting_for: str  # "team" (we owe an answer) or "customer" (we answered last)
    recent_answers: int  # status answers sent to it lately (the rate limit counts them)


NOT_THE_OWNER = "not the ticket's customer"


def may_answer(state: CaseState, sender: str, *, max_per_hour: int) -> str:
    """'' when a status answer may go to `sender`; otherwise why not. Only the owner ever gets
    one: a reference is easy to guess and must not reveal someone else's case."""
    if sender.lower() != state.owner.lower():
        return NOT_THE_OWNER
    if state.recent_answers >= max_per_hour:
        return f"rate limit: {state.recent_answers} status answers in the last hour"
    return ""
