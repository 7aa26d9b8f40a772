"""What a message exposed, and what that changes: redacted before anything else sees it,
urgency raised (never lowered), phishing made a security incident."""

from __future__ import annotations

from mnemonic import Mnemonic

from mailbot.core.parse import parse
from mailbot.core.protect import PHISHING_TEMPLATE, protect, screen, template_for
from mailbot.core.secrets import SecretKind
from mailbot.domain import Classification

URGENCIES = ("critical", "high", "normal", "low")
OFFICIAL = ("upbit.com",)
PHRASE = Mnemonic("korean").to_mnemonic(bytes(range(16)))


def mail(body: str, subject: str = "도와주세요") -> bytes:
    return (
        f"From: 김민수 <minsu@customer.test>\r\nSubject: {subject}\r\nMessage-ID: <p@x>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n\r\n-- \r\n김민수\r\n"
    ).encode()


def classification(urgency: str = "normal", category: str = "account_access") -> Classification:
    return Classification(category, urgency, "ko", 0.9, "v1", explanation=("model",))


def test_a_recovery_phrase_is_redacted_everywhere_and_makes_it_critical() -> None:
    parsed = parse(mail(f"지갑 복구 문구입니다:\r\n{PHRASE}\r\n출금이 안 돼요", subject=PHRASE))
    redacted, exposure = screen(parsed, OFFICIAL)
    words = PHRASE.split()
    for text in (redacted.subject, redacted.text, redacted.new_text, redacted.header("subject")):
        assert not any(w in text for w in words[3:])  # not a word of the phrase survives
    assert "[redacted: recovery phrase]" in redacted.text
    assert exposure.kinds == (SecretKind.RECOVERY_PHRASE,)
    raised = protect(classification(), exposure, urgencies=URGENCIES, incident_category="x")
    assert raised.urgency == "critical" and "exposed secret" in raised.explanation[-1]


def test_a_password_raises_to_high_but_never_lowers() -> None:
    _, exposure = screen(parse(mail("my password is 'Tr0ub4dor&3', please fix login")), OFFICIAL)
    assert exposure.kinds == (SecretKind.PASSWORD,)
    assert (
        protect(classification("low"), exposure, urgencies=URGENCIES, incident_category="x").urgency
        == "high"
    )
    assert (
        protect(
            classification("critical"), exposure, urgencies=URGENCIES, incident_category="x"
        ).urgency
        == "critical"
    )


def test_a_forwarded_lookalike_is_a_security_incident_with_the_phishing_template() -> None:
    body = (
        "이 메일 진짜 업비트에서 온 건가요?\r\n\r\n---------- Forwarded message ---------\r\n"
        "From: 업비트 <notice@upbit-security.com>\r\n"
        "로그인: https://upbit-security.com/login\r\n"
    )
    _, exposure = screen(parse(mail(body)), OFFICIAL)
    assert [lk.host for lk in exposure.lookalikes] == ["upbit-security.com"]
    changed = protect(
        classification(), exposure, urgencies=URGENCIES, incident_category="security_incident"
    )
    assert changed.category == "security_incident" and "phishing" in changed.explanation[-1]
    assert template_for("account_access", exposure) == PHISHING_TEMPLATE


def test_ordinary_mail_passes_unchanged() -> None:
    parsed = parse(mail("비밀번호를 잊어버렸어요. 재설정 방법을 알려주세요. upbit.com 에서요"))
    redacted, exposure = screen(parsed, OFFICIAL)
    assert redacted is parsed and not exposure
    c = classification()
    assert protect(c, exposure, urgencies=URGENCIES, incident_category="x") is c
    assert template_for("account_access", exposure) == "account_access"
