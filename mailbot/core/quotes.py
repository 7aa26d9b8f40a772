"""Split a reply into the sender's new text, the quoted history and the signature.

Recognised (English, Korean, Chinese, Japanese clients):
* ">"-quoted lines, with the attribution line above them ("On … wrote:", "…님이 작성:",
  "…于…写道：", "在 … 写道：", "…に…さんは書きました:", Gmail ja "… <addr>:"), top or
  bottom posted;
* separators that start the history: "-----Original Message-----", "----- Original Message
  -----" (Yahoo! JAPAN), "------------------ 原始邮件 ------------------" (QQ, Foxmail),
  "---------- Forwarded message ---------", "Begin forwarded message:";
* Outlook header blocks "From: / Sent:" and their translations ("보낸 사람: / 보낸 날짜:",
  "发件人: / 发送时间:", "差出人: / 送信日時:"), with or without the "____" rule above;
* an attribution line that is not followed by ">" lines (HTML mail turned into text);
* the "-- " signature separator, and a trailing "Sent from my iPhone" line in its variants.
Everything after a history separator is history. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_QUOTED = re.compile(r"^[ \t]*>")
_SIGNATURE = re.compile(r"^-- ?$")
_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(?:original message|original|forwarded message|message d'origine|"
    r"ursprüngliche nachricht|mensaje original|원본 메시지|전달된 메시지|原始邮件|原始郵件|原邮件|"
    r"回复的原邮件|转发邮件信息|转发的邮件|轉寄郵件|元のメッセージ|転送メッセージ|"
    r"転送されたメッセージ)\s*-*\s*$",
    re.IGNORECASE,
)
_FORWARD_INTRO = re.compile(
    r"^\s*(?:begin forwarded message|전달된 메시지|转发的邮件|轉寄的郵件|転送されたメッセージ)"
    r"\s*[:：]\s*$",
    re.IGNORECASE,
)
_FROM_KEY = r"from|보낸 사람|발신자|发件人|寄件者|寄件人|差出人|von|de"
_DATE_KEY = (
    r"sent|date|보낸 날짜|날짜|发送时间|發送時間|时间|寄件日期|送信日時|日付|日時|gesendet|datum|"
    r"envoyé"
)
_OTHER_KEY = (
    r"to|cc|bcc|subject|reply-to|받는 사람|참조|제목|收件人|抄送|主题|主題|收件者|副本|主旨|宛先|"
    r"件名|an|betreff|à|objet"
)


def _key_line(keys: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*\*?(?:{keys})\*?\s*[:：]", re.IGNORECASE)


_FROM_LINE = _key_line(_FROM_KEY)
_DATE_LINE = _key_line(_DATE_KEY)
_HEADER_LINE = _key_line(f"{_FROM_KEY}|{_DATE_KEY}|{_OTHER_KEY}")
_ATTRIBUTION = re.compile(
    r"(?:wrote|writes|schrieb|a écrit|escribió|ha scritto|작성|쓴 글|쓰신 글|작성한 글|写道|寫道|"
    r"書きました|のメール|<[^<>\s]+@[^<>\s]+>)\s*[:：]\s*$",
    re.IGNORECASE,
)
# How a wrapped attribution starts: "On …", "Am …", "Le …", "在 …", "於 …" or a date.
_OPENER = re.compile(r"^\s*(?:(?:on|am|le|el|il|em|op)\b|在|於|\d)", re.IGNORECASE)
_MAX_ATTRIBUTION = 300  # attribution lines are short; also keeps regexes off 20 kB lines
_HAS_DIGIT = re.compile(r"\d")
_RULE = re.compile(r"^\s*(?:_{2,}|-{2,}|={2,}|\*{2,})\s*$")
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(?:sent from my .{1,40}|get outlook for .{1,30}|.{1,20}에서 보냄|发自我的.{1,20}|"
    r"iPhoneから送信|.{1,20}から送信)\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class ReplyParts:
    """A message body taken apart; joining the three does not give the original back."""

    new_text: str
    quoted: str
    signature: str


def new_text(text: str) -> str:
    """The sender's new text: quoted history and signature removed."""
    return split_reply(text).new_text


def split_reply(text: str) -> ReplyParts:
    """Separate new text, quoted history (quotes, attributions, history) and signature."""
    lines = text.splitlines()
    quoted = [bool(_QUOTED.match(line)) for line in lines]
    cut = _history_start(lines, quoted)
    signature_at = next(
        (i for i in range(cut) if not quoted[i] and _SIGNATURE.match(lines[i])), cut
    )
    new = [lines[i] for i in range(signature_at) if not quoted[i]]
    signature = [lines[i] for i in range(signature_at + 1, cut) if not quoted[i]]
    history = [lines[i] for i in range(cut) if quoted[i]] + lines[cut:]
    return ReplyParts(_tidy(_without_mobile_signature(new)), _tidy(history), _tidy(signature))


def _history_start(lines: list[str], quoted: list[bool]) -> int:
    """Index where unconditional history starts; marks attributions of ">" blocks as quoted."""
    for i, line in enumerate(lines):
        if quoted[i]:
            continue
        if _SEPARATOR.match(line) or _FORWARD_INTRO.match(line) or _header_block(lines, i):
            return i
        span = _attribution_span(lines, i)
        if span:
            following = _next_content(lines, i + span)
            if following is None or not quoted[following]:
                return i
            for j in range(i, i + span):
                quoted[j] = True
    return len(lines)


def _attribution_span(lines: list[str], i: int) -> int:
    """1 or 2 when an attribution starts at line i (Gmail wraps long ones), else 0."""
    if _is_attribution(lines, i, lines[i]):
        return 1
    if i + 1 < len(lines) and _OPENER.match(lines[i]):
        joined = f"{lines[i].rstrip()} {lines[i + 1].strip()}"
        if _is_attribution(lines, i + 1, joined):
            return 2
    return 0


def _is_attribution(lines: list[str], i: int, candidate: str) -> bool:
    if len(candidate) > _MAX_ATTRIBUTION or not _ATTRIBUTION.search(candidate):
        return False
    # A sentence that merely ends in "wrote:" has no date and is not followed by a quote.
    following = _next_content(lines, i + 1)
    return bool(_HAS_DIGIT.search(candidate)) or (
        following is not None and bool(_QUOTED.match(lines[following]))
    )


def _header_block(lines: list[str], i: int) -> bool:
    """An Outlook-style block: consecutive header lines including a From and a Sent/Date."""
    if not _HEADER_LINE.match(lines[i]):
        return False
    block = []
    for line in lines[i : i + 8]:
        if not _HEADER_LINE.match(line):
            break
        block.append(line)
    return (
        len(block) >= 2
        and any(_FROM_LINE.match(line) for line in block)
        and any(_DATE_LINE.match(line) for line in block)
    )


def _next_content(lines: list[str], start: int) -> int | None:
    return next((j for j in range(start, len(lines)) if lines[j].strip()), None)


def _without_mobile_signature(lines: list[str]) -> list[str]:
    kept = _trimmed(lines)
    if kept and _MOBILE_SIGNATURE.match(kept[-1]):
        kept = _trimmed(kept[:-1])
    return kept


def _trimmed(lines: list[str]) -> list[str]:
    """Without trailing blank lines and horizontal rules (Outlook's "____" above a quote)."""
    end = len(lines)
    while end and (not lines[end - 1].strip() or _RULE.match(lines[end - 1])):
        end -= 1
    return lines[:end]


def _tidy(lines: list[str]) -> str:
    """Join lines, keeping at most one blank line between paragraphs."""
    out: list[str] = []
    for line in lines:
        if line.strip() or (out and out[-1]):
            out.append(line.rstrip() if line.strip() else "")
    return "\n".join(out).strip()
