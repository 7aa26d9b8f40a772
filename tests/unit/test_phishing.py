"""Lookalike domains: what imitates our official domains is found, what is ours never is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.core.phishing import (
    LookalikeReason,
    Source,
    check_host,
    edit_distance,
    extract_hosts,
    find_lookalikes,
    skeleton,
    to_unicode,
)

CASES = Path(__file__).parent.parent / "corpus" / "phishing" / "cases.jsonl"
OFFICIAL = ("upbit.com", "bithumb.com", "coinone.co.kr")
R = LookalikeReason


@pytest.mark.parametrize(
    ("host", "imitates", "reason"),
    [
        ("upbіt.com", "upbit.com", R.HOMOGLYPH),  # Cyrillic і
        ("υpbit.com", "upbit.com", R.HOMOGLYPH),  # Greek upsilon
        ("upb1t.com", "upbit.com", R.HOMOGLYPH),
        ("bithurnb.com", "bithumb.com", R.HOMOGLYPH),  # rn -> m
        ("c0inone.co.kr", "coinone.co.kr", R.HOMOGLYPH),
        ("xn--upbt-n9d.com", "upbit.com", R.PUNYCODE),
        ("upbit-support.com", "upbit.com", R.EXTRA_WORDS),
        ("login-upbit.co", "upbit.com", R.EXTRA_WORDS),
        ("myupbit.io", "upbit.com", R.EXTRA_WORDS),
        ("upbit.com.secure-login.io", "upbit.com", R.SUBDOMAIN),
        ("upbit.co", "upbit.com", R.OTHER_TLD),
        ("upbit.net", "upbit.com", R.OTHER_TLD),
        ("coinone.kr", "coinone.co.kr", R.OTHER_TLD),
        ("bitthumb.com", "bithumb.com", R.TYPO),
        ("ubpit.com", "upbit.com", R.TYPO),
    ],
)
def test_lookalikes_and_why(host: str, imitates: str, reason: LookalikeReason) -> None:
    found = check_host(host, OFFICIAL)
    assert found is not None
    assert found.imitates == imitates
    assert reason in found.reasons
    assert imitates in found.why


@pytest.mark.parametrize(
    "host",
    [
        "upbit.com",
        "www.upbit.com",
        "m.upbit.com",
        "UPBIT.COM",
        "static.api.bithumb.com",
        "coinone.co.kr",
        "gmail.com",
        "naver.com",
        "etherscan.io",
        "github.com",
        "finance.yahoo.com",  # one letter from "binance"-like names is not enough
        "bitcoin.org",
    ],
)
def test_official_and_unrelated_hosts_are_not_flagged(host: str) -> None:
    assert check_host(host, (*OFFICIAL, "binance.com")) is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True), max_size=3),
    st.sampled_from(OFFICIAL),
)
def test_subdomains_of_official_domains_are_never_flagged(labels: list[str], official: str) -> None:
    host = ".".join([*labels, official])
    assert check_host(host, OFFICIAL) is None
    assert find_lookalikes(f"see https://{host}/x or mail help@{host}", OFFICIAL) == ()


HOMOGLYPHS = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "i": "і", "u": "υ"}


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(OFFICIAL), st.data())
def test_any_homoglyph_substitution_is_flagged_raw_and_as_punycode(
    official: str, data: st.DataObject
) -> None:
    name, _, suffix = official.partition(".")
    positions = [i for i, c in enumerate(name) if c in HOMOGLYPHS]
    chosen = data.draw(st.sets(st.sampled_from(positions), min_size=1))
    fake = "".join(HOMOGLYPHS[c] if i in chosen else c for i, c in enumerate(name))
    host = f"{fake}.{suffix}"
    punycode = f"xn--{fake.encode('punycode').decode()}.{suffix}"
    for form in (host, punycode):
        found = check_host(form, OFFICIAL)
        assert found is not None and found.imitates == official
        assert R.HOMOGLYPH in found.reasons
    assert R.PUNYCODE in (check_host(punycode, OFFICIAL) or pytest.fail()).reasons
    assert to_unicode(punycode) == host


def test_extract_hosts_from_urls_addresses_text_and_defanged_forms() -> None:
    text = (
        "From: Upbit <no-reply@upbit-security.com>\n"
        "Click hxxps://upbit[.]com[.]verify[.]xyz/login or https://www.upbit.com/notice.\n"
        "빗썸 공지는 bithumb.com에서 확인하세요. 文件 report.pdf, e.g. Node.js."
    )
    mentions = extract_hosts(text)
    assert [(m.host, m.source) for m in mentions] == [
        ("upbit-security.com", Source.EMAIL),
        ("upbit.com.verify.xyz", Source.URL),
        ("www.upbit.com", Source.URL),
        ("bithumb.com", Source.DOMAIN),
    ]
    assert text[mentions[1].start : mentions[1].end] == "upbit[.]com[.]verify[.]xyz"


def test_find_lookalikes_reports_each_host_once_with_senders() -> None:
    text = "Mail from alerts@upb1t.com: visit upb1t.com now, or www.upbit.com."
    found = find_lookalikes(text, OFFICIAL, senders=["alerts@upb1t.com", "kim@naver.com"])
    assert [f.host for f in found] == ["upb1t.com"]


def test_skeleton_and_distance() -> None:
    assert skeleton("uрbіt") == skeleton("upbit") == skeleton("upb1t")
    assert skeleton("bithurnb") == skeleton("bithumb")
    assert edit_distance("upbit", "ubpit") == 1  # a swap is one edit
    assert edit_distance("bithumb", "bitthumb") == 1
    assert edit_distance("", "abc") == 3


def test_phishing_corpus() -> None:
    cases = [json.loads(line) for line in CASES.read_text("utf-8").splitlines() if line]
    assert len(cases) >= 50
    assert any(not c["expected"] for c in cases) and any(c["expected"] for c in cases)
    wrong = []
    for case in cases:
        found = find_lookalikes(case["text"], case["official"], case["senders"])
        got = {(f.host, f.imitates): f.reasons for f in found}
        expected = {(e["host"], e["imitates"]): e["reason"] for e in case["expected"]}
        if set(got) != set(expected) or any(r not in got[k] for k, r in expected.items()):
            wrong.append((case["id"], [f.why for f in found]))
    assert wrong == []
