"""Text -> passwords, one-time codes, API secrets and card numbers stated in it.

Passwords, codes and API secrets have no shape of their own, so each is found only as a value
right after a label in English, Korean, Chinese or Japanese ("my password is", "pw:",
"비밀번호는", "密码是", "パスワードは", "OTP", "인증번호", "验证码", "認証コード", "API secret",
"시크릿 키", "密钥", "シークレットキー"), and the value must look like one: a password has a
digit, a symbol or an inner capital (or is quoted, or is the whole value of a "Password:" line);
a code is 4-8 digits (6 after a bare "code"); an API secret is a long, random-looking token.
"I forgot my password" has no value, and "my password is wrong" has none that looks like one.

Card numbers have a checksum (Luhn, 1 in 10 by chance), so they also need a card's shape: a
2-6 first digit, grouped like a card (4-4-4-4, 4-6-5, ...), or a card word nearby when written
without separators, and no order, phone or ticket label just before.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass


def _words(text: str) -> list[str]:
    return text.split()


# Passwords are typed in ASCII without spaces; a quoted phrase in prose is not one.
_QUOTED = r"[\"'“‘「『](?P<quoted>[!#-&(-~]{4,64})[\"'”’」』]"
_ASCII_VALUE = r"(?P<bare>[!-~]{4,64})"
_VALUE = rf"(?:{_QUOTED}|{_ASCII_VALUE})"

_PASSWORD_LABEL = (
    r"(?<![A-Za-z])(?:pass(?:word|wd|code|phrase)|pwd|pw|p/w|PIN)(?![A-Za-z])"
    r"|(?<!일회용 )(?<!일회용)(?:비밀\s*번호|비번|패스워드|암호)"
    r"|密码|密碼|口令"
    r"|(?<!ワンタイム)(?:パスワード|パスコード|暗証番号)"
)
_PASSWORD_CONNECTOR = (
    r"(?:\s*(?:[:：=]|->|→)\s*(?P<field>)"  # a field: "Password: x" accepts a plain word
    r"|\s+(?:is|was)\s+(?:(?:now|still|currently|just|set\s+to)\s+)?"
    r"|\s*(?:는|은|가|를|을|是|为|為|は|を)\s*"
    r"|(?<![A-Za-z])[ \t]+"  # "비번 qwer1234"; in English "password change" is no value
    r"|\s*(?=[\"'“‘「『]))"  # パスワード「x」
)
# A substring of every password / code / API label above (lower case), for _mentions.
_PASSWORD_HINTS = tuple(
    _words("pass pw pin p/w 비밀 비번 패스워드 암호 密码 密碼 口令 パスワード パスコード 暗証")
)
_PASSWORD = re.compile(rf"(?P<label>{_PASSWORD_LABEL}){_PASSWORD_CONNECTOR}{_VALUE}", re.IGNORECASE)
# The value a few words on in the same sentence ("the password I set was x", "パスワードを送り
# ます：x", "密码改成了x", "my password. It is 'x'"): it must then look like a password.
_PASSWORD_NEAR = re.compile(
    rf"(?P<label>{_PASSWORD_LABEL})[^\n。！？]{{0,40}}?"
    r"(?:(?:\s(?:is|was|to|as)|[:：=]|是|为|為|成了?|は|を|를|을|로)\s*|\n\s*(?P<line>))"
    rf"{_VALUE}",
    re.IGNORECASE,
)

_OTP_LABEL_EXPLICIT = (
    r"(?<![A-Za-z])(?:verification|2fa|two[- ]factor|one[- ]time|otp|totp|mfa|sms|security"
    r"|auth(?:enticator|entication)?|google\s+auth(?:enticator)?|login|confirmation)"
    r"(?:\s+(?:code|pin|number))?(?![A-Za-z])"
    r"|인증\s*번호|인증\s*코드|보안\s*코드|확인\s*코드|일회용\s*비밀\s*번호|OTP\s*번호"
    r"|验证码|驗證碼|动态码|動態碼|校验码|安全码"
    r"|認証コード|確認コード|認証番号|ワンタイム\s*(?:パスワード|コード)|セキュリティ\s*コード"
)
# A bare "code" is also a referral, promo, error or postal code: only 6 digits, and not those.
_OTP_LABEL_GENERIC = r"(?<![A-Za-z])code(?![A-Za-z])|코드|コード"
_NOT_OTP_BEFORE = re.compile(
    r"(?:referral|promo|invite|invitation|error|zip|postal|country|area|coupon|voucher|order"
    r"|product|bank|swift|branch|tracking|reference|status|source|discount|gift|qr"
    r"|에러|오류|추천인?|초대|쿠폰|프로모션|할인|상품|주문|우편|상태"
    r"|エラー|紹介|招待|クーポン|プロモ|割引|商品|注文|郵便|ステータス)[\s_-]*$",
    re.IGNORECASE,
)
_OTP_CONNECTOR = (
    r"(?:(?:\s+[A-Za-z'-]+){1,4}?(?:\s+(?:is|was)\s+|\s*[:：=]\s*)"  # "code you asked for: 1"
    r"|\s*(?:(?:is|was|of)\s+|[:：=]\s*|[는은가이]\s*|是\s*|为\s*|は\s*)?)"
)
_DIGITS_END = r"(?![\d년월일번회자시분개초원位次年月日回桁秒分])"
_OTP_HINTS = tuple(
    _words(
        """code otp 2fa factor one-time mfa sms security auth login confirmation verification
        인증 코드 일회용 验证 驗證 动态 動態 校验 安全码 コード 認証 ワンタイム"""
    )
)
_THREE_DIGITS = re.compile(r"\d{3}")
_OTP = re.compile(
    rf"(?:(?P<explicit>{_OTP_LABEL_EXPLICIT})|{_OTP_LABEL_GENERIC}){_OTP_CONNECTOR}"
    rf"(?P<code>(?<!\d)(?:\d{{3}}[ -]\d{{3}}|\d{{4,8}})){_DIGITS_END}",
    re.IGNORECASE,
)

_API_LABEL = (
    r"(?<![A-Za-z])(?:api[\s_-]*(?:key|secret|token)|apikey|secret[\s_-]*key|secretkey"
    r"|access[\s_-]*key|access[\s_-]*token|secret|key)(?![A-Za-z])"
    r"|API\s*키|시크릿\s*키|시크릿|엑세스\s*키|액세스\s*키"
    r"|密钥|密鑰|秘钥|访问密钥|API\s*公钥"
    r"|シークレット\s*キー|シークレット|API\s*キー|アクセス\s*キー"
)
_API_HINTS = tuple(_words("key secret token 키 시크릿 密钥 密鑰 秘钥 公钥 キー シークレット"))
_API = re.compile(
    rf"(?:{_API_LABEL})[\"']?\s*(?:(?:is|was)\s+|[:：=\-]\s*|는\s*|은\s*|是\s*|为\s*|は\s*)?[\"']?"
    r"(?P<token>(?<![A-Za-z0-9])[A-Za-z0-9][A-Za-z0-9_\-+/=]{15,127})(?![A-Za-z0-9])",
    re.IGNORECASE,
)

_CARD = re.compile(r"(?<![\d+\-.#])\d(?:[ -]?\d){12,18}(?![\d\-])")
_CARD_WORD = re.compile(r"card|visa|master\s*card|amex|카드|卡|カード|クレジット", re.IGNORECASE)
_NOT_CARD_LABEL = re.compile(
    r"\b(?:order|ticket|uid|tx|txid|ref|reference|tracking|invoice|phone|tel|mobile)s?\b"
    r"|account\s*(?:no|number|#)"
    r"|주문|전화|휴대폰|연락처|계좌|티켓|订单|电话|手机|账号|工单|注文|電話|携帯|口座|受付番号",
    re.IGNORECASE,
)
_CARD_GROUPS = ((4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 6, 5), (4, 6, 4), (4, 4, 4, 1), (4, 4, 4, 2))


_NOT_A_PASSWORD = frozenset(
    _words(
        """wrong incorrect correct right invalid expired reset changed being still the same not
    definitely working locked blocked required needed weak strong empty fine okay correctly
    case-sensitive sensitive google otp sms email gmail naver kakao app also really too
    forgotten lost unknown stolen compromised leaked hacked"""
    )
)


@dataclass(frozen=True, slots=True)
class ValueMatch:
    """A secret value (the label before it is not part of the span)."""

    kind: str  # "password" | "one_time_code" | "api_secret" | "card_number"
    start: int
    end: int
    why: str


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


def _looks_like_password(value: str) -> bool:
    has_digit = any(c.isdigit() for c in value)
    has_symbol = any(not c.isalnum() and not c.isspace() and c not in "'’-." for c in value)
    inner_capital = any(c.isupper() for c in value[1:])
    return has_digit or has_symbol or inner_capital


def _is_masked(value: str) -> bool:
    return len(set(value)) == 1 or "***" in value or "•••" in value or "xxxx" in value.lower()


def _trim(value: str, start: int) -> tuple[int, int]:
    """Span of a bare value without sentence punctuation after it."""
    stripped = value.rstrip(".,;?)]}>")
    if stripped != value and len(stripped) >= 4:
        value = stripped
    return start, start + len(value)


def _line_ends_after(text: str, end: int) -> bool:
    rest = text[end : text.find("\n", end) if "\n" in text[end:] else len(text)]
    return not rest.strip(" \t.,;)")


def _not_a_value(value: str) -> bool:
    """Words that follow "password is" without being one, masks, links and addresses."""
    return (
        value.lower().rstrip("?!") in _NOT_A_PASSWORD
        or _is_masked(value)
        or value.startswith("[redacted")  # already redacted: redaction is idempotent
        or "://" in value
        or value.lower().startswith("www.")
        or _EMAIL.fullmatch(value) is not None
    )


def _strong_password(value: str) -> bool:
    """What a value found a few words after the label must look like: letters with digits or
    symbols, at least 6 characters, no spaces."""
    core = value.rstrip("!?.")  # "Urgent!!" is an exclamation, not a symbol
    has_letter = any(c.isalpha() for c in core)
    return len(core) >= 6 and has_letter and _looks_like_password(core) and " " not in core


def _near_value_ok(text: str, m: re.Match[str], start: int, end: int) -> bool:
    """A bare value a few words after the label: a strong password, and when it is on the
    next line, alone on it with no sentence ended in between ("password but it timed out.\n
    Urgent!!" is no password)."""
    if not _strong_password(text[start:end]):
        return False
    if m.group("line") is None:
        return True
    return _line_ends_after(text, end) and not re.search(r"[.!?]", text[m.end("label") : start])


def _password_at(text: str, m: re.Match[str], near: bool) -> ValueMatch | None:
    quoted = m.group("quoted") is not None
    if quoted:
        start, end = m.span("quoted")
    else:
        start, end = _trim(m.group("bare"), m.start("bare"))
    if _not_a_value(text[start:end]):
        return None
    if quoted:
        ok = True
    elif near:
        ok = _near_value_ok(text, m, start, end)
    else:
        a_field = m.group("field") is not None and _line_ends_after(text, end)
        ok = a_field or _looks_like_password(text[start:end])
    return ValueMatch("password", start, end, f"value after {m['label']!r}") if ok else None


def _mentions(text: str, hints: tuple[str, ...]) -> bool:
    """Whether any label could be in `text`: a substring test is far cheaper than running
    the label patterns over every position of a long mail that has none."""
    lowered = text.lower()
    return any(hint in lowered for hint in hints)


def find_passwords(text: str) -> Iterator[ValueMatch]:
    """Passwords given after a password label."""
    if not _mentions(text, _PASSWORD_HINTS):
        return
    for pattern, near in ((_PASSWORD, False), (_PASSWORD_NEAR, True)):
        for m in pattern.finditer(text):
            found = _password_at(text, m, near)
            if found is not None:
                yield found


def find_codes(text: str) -> Iterator[ValueMatch]:
    """One-time codes: 4-8 digits after an OTP / 2FA / verification label, 6 after "code"."""
    if not _THREE_DIGITS.search(text) or not _mentions(text, _OTP_HINTS):
        return
    for m in _OTP.finditer(text):
        code = m.group("code")
        digits = sum(c.isdigit() for c in code)
        before = text[max(0, m.start() - 16) : m.start()]
        if m.group("explicit") is None and (digits != 6 or _NOT_OTP_BEFORE.search(before)):
            continue
        yield ValueMatch("one_time_code", *m.span("code"), "digits after a one-time code label")


def _shannon_bits(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _looks_random(token: str) -> bool:
    classes = sum(
        (
            any(c.islower() for c in token),
            any(c.isupper() for c in token),
            any(c.isdigit() for c in token),
        )
    )
    return classes >= 2 and _shannon_bits(token) >= 3.0


def find_api_secrets(text: str) -> Iterator[ValueMatch]:
    """Long random-looking tokens after an API key / secret label."""
    if not _mentions(text, _API_HINTS):
        return
    for m in _API.finditer(text):
        start, end = _trim(m.group("token"), m.start("token"))
        if _looks_random(text[start:end]):
            yield ValueMatch("api_secret", start, end, "random token after an API key label")


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check of card numbers."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char) * (2 if i % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _card_shaped(raw: str) -> bool:
    separators = {c for c in raw if not c.isdigit()}
    if not separators:
        return True
    if len(separators) > 1:
        return False
    groups = tuple(len(g) for g in raw.split(separators.pop()))
    return groups in _CARD_GROUPS


def find_cards(text: str) -> Iterator[ValueMatch]:
    """Luhn-valid, card-shaped numbers of 13-19 digits that no order/phone label claims."""
    for m in _CARD.finditer(text):
        raw, start = m.group(), m.start()
        digits = "".join(c for c in raw if c.isdigit())
        if raw[0] not in "23456" or not luhn_ok(digits) or not _card_shaped(raw):
            continue
        before = text[max(0, start - 30) : start]
        if _NOT_CARD_LABEL.search(before):
            continue
        near = text[max(0, start - 40) : m.end() + 15]
        if raw.isdigit() and not _CARD_WORD.search(near):
            continue  # a bare digit string is more often an ID than a card
        yield ValueMatch("card_number", start, m.end(), "Luhn-valid card number")
