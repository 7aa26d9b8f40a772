"""classify(): decisions with per-label thresholds, and explanations that name their evidence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pytest

from mailbot.core.classify import ClassifyPolicy, classify, decide_label
from mailbot.core.parse import parse
from mailbot.core.rules import compile_rule
from mailbot.domain import Classification

URGENCIES = ("critical", "high", "normal", "low")


@dataclass
class ScriptedModel:
    """Returns fixed probabilities and evidence, and records what it was asked to explain."""

    categories: dict[str, float]
    urgencies: dict[str, float]
    thresholds: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    evidence: dict[str, list[str]] = field(default_factory=dict)
    version: str = "v-test"
    asked: list[dict[str, str]] = field(default_factory=list)

    def predict(self, text: str) -> tuple[Mapping[str, float], Mapping[str, float]]:
        return self.categories, self.urgencies

    def explain(
        self, text: str, labels: Mapping[str, str], k: int = 5
    ) -> Mapping[str, Sequence[str]]:
        self.asked.append(dict(labels))
        return {head: self.evidence.get(head, [])[:k] for head in labels}


def mail(subject: str = "Deposit missing", body: str = "My deposit never arrived.") -> bytes:
    return (
        f"From: a@example.test\r\nTo: s@example.test\r\nSubject: {subject}\r\n"
        f"Message-ID: <1@example.test>\r\n\r\n{body}\r\n"
    ).encode()


def run(
    model: ScriptedModel, raw: bytes | None = None, rules: tuple[str, ...] = ()
) -> Classification:
    policy = ClassifyPolicy(
        ("en", "ko"),
        "en",
        rules=tuple(compile_rule("takeover", "critical", [p]) for p in rules),
        urgencies=URGENCIES,
    )
    return classify(
        parse(raw or mail()), model=model, detect_language=lambda _t: "en", policy=policy
    )


@pytest.mark.parametrize(
    ("probabilities", "thresholds", "expected"),
    [
        ({"high": 0.6, "critical": 0.3, "low": 0.1}, {}, "high"),
        ({"high": 0.6, "critical": 0.3, "low": 0.1}, {"critical": 0.25}, "critical"),
        ({"high": 0.6, "critical": 0.2, "low": 0.2}, {"critical": 0.25}, "high"),
        ({"high": 0.2, "critical": 0.7, "low": 0.1}, {"critical": 0.9}, "critical"),  # argmax
        ({"high": 0.6, "critical": 0.25}, {"critical": 0.25}, "critical"),  # >= is enough
        ({"high": 0.6}, {"critical": 0.1}, "high"),  # a label the model lacks
    ],
)
def test_decide_label(
    probabilities: dict[str, float], thresholds: dict[str, float], expected: str
) -> None:
    assert decide_label(probabilities, thresholds) == expected


def test_explanation_names_probability_and_features_for_both_heads() -> None:
    model = ScriptedModel(
        {"deposit_withdrawal": 0.91, "trading": 0.09},
        {"high": 0.7, "normal": 0.3},
        evidence={"category": ["입금", "deposit", "txid"], "urgency": ["never arrived"]},
    )
    c = run(model)
    assert c.explanation[0] == 'category deposit_withdrawal p=0.91: "입금", "deposit", "txid"'
    assert c.explanation[1] == 'urgency high p=0.70: "never arrived"'
    assert c.explanation[-1] == "language en"
    assert model.asked == [{"category": "deposit_withdrawal", "urgency": "high"}]  # once


def test_threshold_decides_urgency_and_says_so() -> None:
    model = ScriptedModel(
        {"security_incident": 0.8, "account_access": 0.2},
        {"high": 0.55, "critical": 0.30, "normal": 0.15},
        thresholds={"urgency": {"critical": 0.2}},
        evidence={"urgency": ["logged in"]},
    )
    c = run(model)
    assert c.urgency == "critical"
    assert c.explanation[1] == 'urgency critical p=0.30 (>= its threshold 0.20): "logged in"'
    assert model.asked[0]["urgency"] == "critical"  # the decided label is explained


def test_rule_line_follows_the_model_line_and_no_features_means_no_colon() -> None:
    model = ScriptedModel({"security_incident": 1.0}, {"normal": 0.9, "critical": 0.1})
    c = run(model, mail("help", "my account was hacked"), rules=(r"\bhacked\b",))
    assert c.urgency == "critical"
    assert c.explanation[1] == "urgency normal p=0.90"
    assert c.explanation[2].startswith("rule 'takeover' matched 'hacked'")
    assert c.model_version == "v-test"
    assert c.probabilities["urgency:critical"] == pytest.approx(0.1)
