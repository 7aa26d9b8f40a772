"""ParsedMail + model -> Classification. The model and the language detector are passed in."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from mailbot.core.rules import UrgencyRule, raise_urgency
from mailbot.domain import Classification, ParsedMail


class TextModel(Protocol):
    """What the classifier needs from a trained model (see adapters/modelstore.py)."""

    version: str

    def predict(self, text: str) -> tuple[Mapping[str, float], Mapping[str, float]]:
        """Category and urgency probabilities for one text."""
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


def classify(
    mail: ParsedMail,
    *,
    model: TextModel,
    detect_language: Callable[[str], str | None],
    policy: ClassifyPolicy,
) -> Classification:
    """Category, urgency and language of a message, with the probabilities behind them."""
    text = model_text(mail)
    categories, urgencies = model.predict(text)
    category = _best(categories)
    model_urgency = _best(urgencies)
    urgency, rule_reason = raise_urgency(text, model_urgency, policy.rules, policy.urgencies)
    language = detect_language(text) or policy.default_language
    if language not in policy.languages:
        language = policy.default_language
    confidence = float(categories[category])
    explanation = (
        f"category {category} p={confidence:.2f}",
        f"urgency {model_urgency} p={urgencies[model_urgency]:.2f}",
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


def _best(probabilities: Mapping[str, float]) -> str:
    return max(probabilities, key=lambda label: probabilities[label])
