"""ParsedMail + model -> Classification. The model and the language detector are passed in."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from mailbot.core.rules import UrgencyRule, raise_urgency
from mailbot.domain import Classification, ParsedMail


class TextModel(Protocol):
    """What the classifier needs from a trained model (see adapters/modelstore.py)."""

    version: str

    @property
    def thresholds(self) -> Mapping[str, Mapping[str, float]]:
        """Per head, labels chosen whenever their probability reaches this value (e.g. a
        lower bar for `critical`, so that it is rarely missed); may be empty."""
        ...

    def predict(self, text: str) -> tuple[Mapping[str, float], Mapping[str, float]]:
        """Category and urgency probabilities for one text."""
        ...

    def explain(
        self, text: str, labels: Mapping[str, str], k: int = 5
    ) -> Mapping[str, Sequence[str]]:
        """Per head ("category", "urgency"): the features of `text` that pushed hardest
        towards the given label, strongest first (at most k; empty when unknown)."""
        ...


@dataclass(frozen=True, slots=True)
class ClassifyPolicy:
    languages: tuple[str, ...]
    default_language: str
    rules: tuple[UrgencyRule, ...] = ()
    urgencies: tuple[str, ...] = ()  # most urgent first, for the rules


def model_text(mail: ParsedMail) -> str:
    """Subject and the customer's new text (quoted history would repeat old topics);
    the full text when there is no new text, e.g. a forward without a comment."""
    return f"{mail.subject}\n{mail.new_text or mail.text}"


def decide_label(probabilities: Mapping[str, float], thresholds: Mapping[str, float]) -> str:
    """The first label (in `thresholds` order) whose probability reaches its threshold,
    else the most probable label."""
    for label, threshold in thresholds.items():
        if probabilities.get(label, 0.0) >= threshold:
            return label
    return max(probabilities, key=lambda label: probabilities[label])


def decide_labels(
    predictions: Sequence[tuple[Mapping[str, float], Mapping[str, float]]],
    thresholds: Mapping[str, Mapping[str, float]],
) -> list[tuple[str, str]]:
    """(category, urgency) for each (category, urgency) probability pair, as the daemon
    decides them: each head's thresholds applied."""
    cat_t = thresholds.get("category", {})
    urg_t = thresholds.get("urgency", {})
    return [(decide_label(c, cat_t), decide_label(u, urg_t)) for c, u in predictions]


def classify(
    mail: ParsedMail,
    *,
    model: TextModel,
    detect_language: Callable[[str], str | None],
    policy: ClassifyPolicy,
) -> Classification:
    """Category, urgency and language of a message, with the probabilities and the features
    behind them."""
    text = model_text(mail)
    categories, urgencies = model.predict(text)
    thresholds = model.thresholds
    category = decide_label(categories, thresholds.get("category", {}))
    model_urgency = decide_label(urgencies, thresholds.get("urgency", {}))
    evidence = model.explain(text, {"category": category, "urgency": model_urgency})
    urgency, rule_reason = raise_urgency(text, model_urgency, policy.rules, policy.urgencies)
    language = detect_language(text) or policy.default_language
    if language not in policy.languages:
        language = policy.default_language
    confidence = float(categories[category])
    explanation = (
        _why("category", category, categories, thresholds, evidence),
        _why("urgency", model_urgency, urgencies, thresholds, evidence),
        *((rule_reason,) if rule_reason else ()),
        f"language {language}",
    )
    return Classification(
        category=category,
        urgency=urgency,
        language=language,
        confidence=confidence,
        model_version=model.version,
        probabilities={f"category:{k}": float(v) for k, v in categories.items()}
        | {f"urgency:{k}": float(v) for k, v in urgencies.items()},
        explanation=explanation,
    )


def _why(
    head: str,
    label: str,
    probabilities: Mapping[str, float],
    thresholds: Mapping[str, Mapping[str, float]],
    evidence: Mapping[str, Sequence[str]],
) -> str:
    """e.g. `category deposit_withdrawal p=0.91: "입금", "deposit", "txid"`."""
    line = f"{head} {label} p={probabilities[label]:.2f}"
    threshold = thresholds.get(head, {}).get(label)
    if threshold is not None and probabilities[label] < max(probabilities.values()):
        line += f" (>= its threshold {threshold:.2f})"
    features = evidence.get(head, ())
    if features:
        line += ": " + ", ".join(f'"{f}"' for f in features)
    return line
