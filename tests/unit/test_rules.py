"""Urgency rules raise, never lower; the shipped defaults catch takeover wording in 4 languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.core.rules import compile_rule, raise_urgency
from mailbot.errors import ConfigError
from mailbot.settings import DEFAULT_URGENCIES, ClassifierSettings, load_settings

RULES = ClassifierSettings().compiled_rules()  # the shipped defaults, negation cues included


@pytest.mark.parametrize(
    "text",
    [
        "My account was hacked and my BTC is gone",
        "There is an unauthorized withdrawal of 2 ETH on my account",
        "I did not make this withdrawal of 500 USDT!",
        "Someone is logged in to my account right now",
        "제 계정이 해킹당했어요. 지금 코인이 팔리고 있어요",
        "제가 요청하지 않은 출금이 진행 중입니다",
        "我的账户被盗了，币被转走了",
        "有一笔提币不是我操作的",
        "不正ログインされて出金されました",
        "身に覚えのない出金があります",
        # questions and a denial elsewhere in the mail are not negations of the match
        "我是不是被盗了？余额没了",
        "请帮我看看有没有被转走",
        "Someone hacked my account, it was not me",
        "I don't know if I was hacked but my BTC is gone",
    ],
)
def test_takeover_wording_raises_to_critical(text: str) -> None:
    urgency, reason = raise_urgency(text, "normal", RULES, DEFAULT_URGENCIES)
    assert urgency == "critical"
    assert reason.startswith("rule ") and "normal -> critical" in reason


@pytest.mark.parametrize(
    "text",
    [
        "What is the withdrawal fee for USDT?",
        "I forgot my password, how do I reset it?",
        "입금이 아직 안 들어왔어요",
        "充值还没到账",
        "出金手数料はいくらですか",
        "Hackathon sponsorship inquiry",  # "hack" inside a word
    ],
)
def test_ordinary_mail_is_left_alone(text: str) -> None:
    assert raise_urgency(text, "low", RULES, DEFAULT_URGENCIES) == ("low", "")


@pytest.mark.parametrize(
    "text",
    [
        "Locked out after a password change. My account was not hacked, I just mistyped it",
        "I wasn't hacked, I pressed the freeze button myself",
        "How do you protect against hacks? Do you have insurance if you get hacked?",
        "我是本人，没有被盗，纯属操作失误",
        "资金记录里没有任何转出，应该不是被盗",
        "不正アクセスとかではなく、単に自分の操作ミスです",
        "盗まれたわけではないので不正利用の心配はないのですが",
        "출금 내역엔 아무것도 없어서 해킹은 아닌 것 같은데",
        "링크만 눌러도 해킹될 수 있나요?",
    ],
)
def test_denied_or_hypothetical_matches_do_not_fire(text: str) -> None:
    assert raise_urgency(text, "high", RULES, DEFAULT_URGENCIES) == ("high", "")


def test_a_negated_match_does_not_hide_a_later_real_one() -> None:
    rule = compile_rule("takeover", "critical", [r"hacked"], not_before=[r"\bnot"])
    urgency, reason = raise_urgency(
        "I was not hacked before. Today I was hacked.", "normal", [rule], DEFAULT_URGENCIES
    )
    assert urgency == "critical" and "'hacked'" in reason


def test_negation_cues_stay_inside_the_clause() -> None:
    rule = compile_rule("takeover", "critical", [r"hacked"], not_after=[r"no\b"])
    assert raise_urgency("hacked. No idea how", "low", [rule], DEFAULT_URGENCIES)[0] == "critical"
    assert raise_urgency("hacked no way", "low", [rule], DEFAULT_URGENCIES)[0] == "low"


def test_rules_never_lower_urgency() -> None:
    low_rule = compile_rule("calm", "low", [r"password"])
    assert raise_urgency("password", "high", [low_rule], DEFAULT_URGENCIES) == ("high", "")


def test_bad_rules_are_config_errors(tmp_path: Path) -> None:
    base = """
[imap]
host = "127.0.0.1"
username = "s@example.test"
tls = "none"
[smtp]
host = "127.0.0.1"
tls = "none"
from_address = "s@example.test"
"""
    for rule, expected in [
        ('name = "x"\nurgency = "panic"\npatterns = ["a"]', "unknown urgency"),
        ('name = "x"\nurgency = "high"\npatterns = ["(unclosed"]', "bad pattern"),
        ('name = "x"\nurgency = "high"\npatterns = ["a"]\nnot_before = ["(x"]', "bad pattern"),
    ]:
        path = tmp_path / "m.toml"
        path.write_text(base + "[[classifier.urgency_rules]]\n" + rule + "\n")
        with pytest.raises(ConfigError, match=expected):
            load_settings(path, environ={})
