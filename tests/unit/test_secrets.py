"""Secrets in support mail: found in four languages, replaced by typed markers, nothing else."""

from __future__ import annotations

import itertools
import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mnemonic import Mnemonic

from mailbot.core import bip39
from mailbot.core.credentials import luhn_ok
from mailbot.core.keys import b58decode_check
from mailbot.core.secrets import (
    SEVERITY,
    Finding,
    SecretKind,
    Severity,
    redact,
    redact_message,
    scan,
    worst_severity,
)

CORPUS = Path(__file__).parent.parent / "corpus" / "secrets"
FAST = settings(max_examples=150, deadline=None)

# BIP39's own test vector (entropy 00...00): valid; the same words ending "abandon" are not.
VALID_12 = "abandon " * 11 + "about"
INVALID_12 = "abandon " * 12
# Bitcoin wiki's WIF example and BIP32 test vector 1's master key.
WIF = "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ"
XPRV = (
    "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRN"
    "NU3TGtRBeJgk33yuGBxrMPHi"
)
HEX = "e8f32e723decf4051aefac8e2c93c9c5b214313817cdb01a1494b917c8436b35"


def kinds_of(text: str) -> set[SecretKind]:
    return {f.kind for f in scan(text)}


def read(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


# --- the parts ----------------------------------------------------------------------------


def test_bip39_checksum_follows_the_standard() -> None:
    english = bip39.wordlist("english")
    assert bip39.checksum_ok([english[w] for w in VALID_12.split()])
    assert not bip39.checksum_ok([english[w] for w in INVALID_12.split()])
    assert not bip39.checksum_ok([english[w] for w in VALID_12.split()[:11]])


def test_base58check_accepts_real_keys_only() -> None:
    assert b58decode_check(WIF) is not None
    assert b58decode_check(WIF[:-1] + "U") is None  # one character off
    assert b58decode_check("0OIl") is None  # not in the alphabet


@pytest.mark.parametrize("number", ["4111111111111111", "378282246310005", "5555555555554444"])
def test_luhn(number: str) -> None:
    assert luhn_ok(number)
    assert not luhn_ok(number[:-1] + str((int(number[-1]) + 1) % 10))


# --- what is found ------------------------------------------------------------------------

FOUND = [
    (f"my seed: {VALID_12}", SecretKind.RECOVERY_PHRASE),
    (f"words: {VALID_12.upper()}", SecretKind.RECOVERY_PHRASE),
    (
        "1. abandon 2. abandon 3) abandon\n4. abandon, abandon, abandon abandon abandon abandon "
        "abandon abandon about",
        SecretKind.RECOVERY_PHRASE,
    ),
    (
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandn abandon "
        "about",
        SecretKind.RECOVERY_PHRASE,
    ),  # a typo: no checksum, still 12 list words
    (  # quoted in a reply
        "> " + " ".join(VALID_12.split()[:6]) + "\n> " + " ".join(VALID_12.split()[6:]),
        SecretKind.RECOVERY_PHRASE,
    ),
    (f"paper wallet {WIF}", SecretKind.PRIVATE_KEY),
    (f"backup {XPRV} from Electrum", SecretKind.PRIVATE_KEY),
    (f"private key: 0x{HEX}", SecretKind.PRIVATE_KEY),
    (f"개인키 {HEX}", SecretKind.PRIVATE_KEY),
    (f"{HEX} 이게 제 프라이빗 키예요", SecretKind.PRIVATE_KEY),
    (f"私钥：{HEX}", SecretKind.PRIVATE_KEY),
    (f"{HEX} が秘密鍵です", SecretKind.PRIVATE_KEY),
    ("my password is hunter2", SecretKind.PASSWORD),
    ("pw: Tr0ub4dor&3", SecretKind.PASSWORD),
    ("Password: sunshine\nplease check", SecretKind.PASSWORD),
    ("비밀번호는 qwer1234! 입니다", SecretKind.PASSWORD),
    ("비번 dlsxo0912@ 맞아요", SecretKind.PASSWORD),
    ("密码是abc12345，帮我看看", SecretKind.PASSWORD),
    ("パスワードは Tokyo2024! です", SecretKind.PASSWORD),
    ("the code is 123456", SecretKind.ONE_TIME_CODE),
    ("OTP 123456", SecretKind.ONE_TIME_CODE),
    ("인증번호 482913 입력했는데", SecretKind.ONE_TIME_CODE),
    ("验证码：552901", SecretKind.ONE_TIME_CODE),
    ("認証コードは123456です", SecretKind.ONE_TIME_CODE),
    ("API key: aB3dE5gH7jK9mN1pQ3rS5tU7", SecretKind.API_SECRET),
    ("시크릿 키: Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1", SecretKind.API_SECRET),
    ("密钥 Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1", SecretKind.API_SECRET),
    ("シークレットキー：Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1", SecretKind.API_SECRET),
    ("card 4111 1111 1111 1111 exp 09/27", SecretKind.CARD_NUMBER),
    ("Amex 3782-822463-10005", SecretKind.CARD_NUMBER),
    ("refund to card 4111 1111 1111 1111", SecretKind.CARD_NUMBER),
    ("카드번호 5555555555554444", SecretKind.CARD_NUMBER),
]


@pytest.mark.parametrize(("text", "kind"), FOUND)
def test_found_with_its_kind(text: str, kind: SecretKind) -> None:
    assert kinds_of(text) == {kind}


NOT_FOUND = [
    "I forgot my password, how do I reset it?",
    "reset password link does not work",
    "My password is wrong apparently. My password is not working.",
    "Password: ********",
    "비밀번호를 잊어버렸어요",
    "비밀번호 5번 틀려서 잠겼어요",
    "我忘记密码了，重置密码收不到邮件",
    "パスワードを忘れました",
    f"txid: {HEX}",
    f"tx hash 0x{HEX}",
    f"트랜잭션 해시 {HEX}",
    f"交易哈希 {HEX}",
    f"トランザクションハッシュ {HEX}",
    f"{HEX}",  # a bare 64-hex is a hash far more often than a key
    "Order #4111111111111111 was cancelled",
    "call me on +86 139 1234 5678 or 010-2345-6789",
    "my referral code is 583920",
    "error code 100234",
    "I created an API key but lost the secret key",
    "The code expired after 30 seconds",
    "OTP 6자리 입력하라는데 앱에 아무것도 없어요",
    "Send 0.5 BTC to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq please",
    "Can you explain what happens to my account balance if the exchange goes offline "
    "during a market crash? Also where can I find the fee for each network?",
]


@pytest.mark.parametrize("text", NOT_FOUND)
def test_ordinary_mail_has_no_secret(text: str) -> None:
    assert scan(text) == ()
    assert redact(text).text == text


def test_redaction_keeps_the_label_and_replaces_the_value() -> None:
    result = redact("my password is hunter2 and OTP 123456")
    assert result.text == "my password is [redacted: password] and OTP [redacted: one-time code]"
    assert [f.kind for f in result.findings] == [SecretKind.PASSWORD, SecretKind.ONE_TIME_CODE]
    assert all("hunter2" not in f.why for f in result.findings)


def test_dense_chinese_phrase_needs_its_line_and_checksum() -> None:
    dense = Mnemonic("chinese_simplified").to_mnemonic(bytes(range(16))).replace(" ", "")
    assert kinds_of(f"我的助记词：\n{dense}\n谢谢") == {SecretKind.RECOVERY_PHRASE}
    assert kinds_of(f"我的助记词：{dense}") == {SecretKind.RECOVERY_PHRASE}
    assert scan(f"我的助记词：前面{dense}") == ()  # inside a sentence: prose, not a paste
    # Without a phrase word, a pasted line still counts when few characters are common ones.
    simplified = Mnemonic("chinese_simplified")
    for seed in range(64):
        words = simplified.to_mnemonic(bytes([seed]) * 16).split(" ")
        common = sum(bip39.wordlist("chinese_simplified")[w] < 100 for w in words)
        assert (kinds_of(f"你好\n{''.join(words)}\n") != set()) == (common <= 2)
    # 12 list characters of prose whose checksum holds by chance (1 in 16): too common.
    assert scan("我好像在假网站上输了密码") == ()


def test_overlapping_findings_merge_into_the_more_dangerous_kind() -> None:
    text = f"Key: {WIF}"  # an API-secret label before a WIF key
    [finding] = scan(text)
    assert finding.kind is SecretKind.PRIVATE_KEY
    assert redact(text).text == "Key: [redacted: private key]"


def test_message_helper_combines_and_deduplicates_kinds() -> None:
    message = redact_message(
        "pw: hunter2!!", f"my password is abc123!! and\n{VALID_12}\nOTP 123456"
    )
    assert message.subject == "pw: [redacted: password]"
    assert message.kinds == (
        SecretKind.RECOVERY_PHRASE,
        SecretKind.PASSWORD,
        SecretKind.ONE_TIME_CODE,
    )
    assert message.severity is Severity.CRITICAL
    assert redact_message("hello", "nothing here").kinds == ()
    assert redact_message("hello", "nothing here").severity is None


def test_severity_is_documented_for_every_kind() -> None:
    assert set(SEVERITY) == set(SecretKind)
    assert SEVERITY[SecretKind.RECOVERY_PHRASE] is Severity.CRITICAL
    assert SEVERITY[SecretKind.PRIVATE_KEY] is Severity.CRITICAL
    assert SEVERITY[SecretKind.PASSWORD] is Severity.HIGH
    assert SEVERITY[SecretKind.API_SECRET] is Severity.HIGH
    assert worst_severity([SecretKind.ONE_TIME_CODE, SecretKind.PASSWORD]) is Severity.HIGH
    assert {k.marker for k in SecretKind} == {
        "[redacted: recovery phrase]",
        "[redacted: private key]",
        "[redacted: API secret]",
        "[redacted: password]",
        "[redacted: card number]",
        "[redacted: one-time code]",
    }


# --- properties ---------------------------------------------------------------------------

# Prose made of words that are in no BIP39 list, so every list word in the text is the phrase's.
PROSE = st.lists(
    st.sampled_from(
        [
            "hello",
            "support",
            "my",
            "is",
            "the",
            "please",
            "team",
            "thanks",
            "I",
            "wallet",
            "안녕하세요",
            "확인",
            "부탁드립니다",
            "您好",
            "谢谢",
            "お願いします",
            "\n",
            ",",
            ".",
            "!",
            "(",
            ")",
            "2024-11-22",
            "USDT",
            "0.5",
        ]
    ).filter(lambda w: all(w not in bip39.wordlist(lang) for lang in bip39.LANGUAGES)),
    max_size=30,
).map(" ".join)
SEPARATORS = st.sampled_from([" ", "  ", "\n", ", ", "\u3000", "\t", " \n"])


@st.composite
def pasted_phrases(draw: st.DrawFn) -> tuple[str, list[str]]:
    wordlist = draw(st.sampled_from(["english", "korean", "japanese", "chinese_traditional"]))
    strength = draw(st.sampled_from([16, 20, 24, 28, 32]))
    entropy = draw(st.binary(min_size=strength, max_size=strength))
    words = Mnemonic(wordlist).to_mnemonic(entropy).replace("\u3000", " ").split(" ")
    words = [unicodedata.normalize("NFC", w) for w in words]
    numbered = draw(st.booleans())
    parts = [f"{i}. {w}" if numbered else w for i, w in enumerate(words, 1)]
    block = "".join(p + draw(SEPARATORS) for p in parts).strip()
    if draw(st.booleans()) and wordlist == "english":
        block = block.upper()
    return block, words


@FAST
@given(pasted_phrases(), PROSE, PROSE)
def test_redaction_never_leaves_a_word_of_a_detected_phrase(
    phrase: tuple[str, list[str]], before: str, after: str
) -> None:
    block, words = phrase
    result = redact(f"{before}\n{block}\n{after}")
    assert SecretKind.RECOVERY_PHRASE in result.kinds
    remaining = result.text.lower()
    assert not [w for w in words if w.lower() in remaining.split()]
    assert block not in result.text


@FAST
@given(st.text(max_size=300))
def test_text_without_findings_is_unchanged_and_spans_are_ordered(text: str) -> None:
    result = redact(text)
    if not result.findings:
        assert result.text == text
    spans = [(f.start, f.end) for f in result.findings]
    assert all(0 <= a < b <= len(text) for a, b in spans)
    assert all(b1 <= a2 for (_, b1), (a2, _) in itertools.pairwise(spans))


@FAST
@given(pasted_phrases(), PROSE)
def test_redaction_is_idempotent(phrase: tuple[str, list[str]], prose: str) -> None:
    once = redact(f"{prose}\nmy password is Hunter2!! OTP 123456\n{phrase[0]}")
    assert scan(once.text) == ()


@FAST
@given(st.text(alphabet="0123456789", min_size=15, max_size=15))
def test_card_numbers_need_the_luhn_check(digits: str) -> None:
    number = "4" + digits
    grouped = " ".join(number[i : i + 4] for i in range(0, 16, 4))
    found = kinds_of(f"my card {grouped} was declined") == {SecretKind.CARD_NUMBER}
    assert found == luhn_ok(number)


def test_finding_severity_property() -> None:
    assert Finding(SecretKind.CARD_NUMBER, 0, 1, "").severity is Severity.NORMAL


# --- the corpora --------------------------------------------------------------------------


def test_every_positive_is_found_with_its_kinds_and_redacted() -> None:
    cases = read(CORPUS / "positives.jsonl")
    assert len(cases) >= 300
    assert {c["language"] for c in cases} == {"en", "ko", "zh", "ja"}
    failures = []
    for case in cases:
        message = redact_message(str(case["subject"]), str(case["text"]))
        secrets, kinds = list(case["secrets"]), list(case["kinds"])  # type: ignore[call-overload]
        leaked = [s for s in secrets if s in message.subject + message.body]
        if set(message.kinds) != {SecretKind(k) for k in kinds} or leaked:
            failures.append((case["id"], [k.value for k in message.kinds], leaked))
    assert failures == []


def test_no_negative_has_a_finding() -> None:
    cases = read(CORPUS / "negatives.jsonl")
    found = [
        (case["id"], case["note"])
        for case in cases
        if redact_message(str(case["subject"]), str(case["text"])).kinds
    ]
    assert found == []
