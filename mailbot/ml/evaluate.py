"""Reports for labelled data: per-class precision/recall/F1, macro-F1, accuracy, confusion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mailbot.adapters.modelstore import Model
from mailbot.ml.train import Example, model_input


def head_report(
    truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """One head's scores, shaped for `mailbot evaluate --format json`."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
    from sklearn.metrics import precision_recall_fscore_support as prfs

    precision, recall, f1, support = prfs(truth, predicted, labels=list(labels), zero_division=0)
    return {
        "macro_f1": round(
            float(
                f1_score(truth, predicted, labels=list(labels), average="macro", zero_division=0)
            ),
            4,
        ),
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "per_class": {
            label: {
                "precision": round(float(p), 4),
                "recall": round(float(r), 4),
                "f1": round(float(f), 4),
                "support": int(s),
            }
            for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        },
        "confusion": {
            "labels": list(labels),
            "matrix": confusion_matrix(truth, predicted, labels=list(labels)).tolist(),
        },
    }


def evaluate(
    model: Model,
    examples: Sequence[Example],
    *,
    categories: Sequence[str],
    urgencies: Sequence[str],
) -> dict[str, Any]:
    """The model's report on labelled examples, with its decision thresholds applied."""
    predicted = model.predict_labels([model_input(e) for e in examples])
    cats = [c for c, _ in predicted]
    urgs = [u for _, u in predicted]
    return {
        "category": head_report([e.category for e in examples], cats, categories),
        "urgency": head_report([e.urgency for e in examples], urgs, urgencies),
        "model": model.version,
        "examples": len(examples),
    }


def report_text(report: dict[str, Any]) -> str:
    """A readable table of both heads."""
    lines = [f"model {report['model']} on {report['examples']} examples"]
    for head in ("category", "urgency"):
        r = report[head]
        lines.append(f"\n{head}: macro-F1 {r['macro_f1']:.3f}  accuracy {r['accuracy']:.3f}")
        lines.append(f"  {'label':<26}{'precision':>10}{'recall':>8}{'f1':>8}{'n':>6}")
        for label, s in r["per_class"].items():
            lines.append(
                f"  {label:<26}{s['precision']:>10.3f}{s['recall']:>8.3f}"
                f"{s['f1']:>8.3f}{s['support']:>6}"
            )
        lines.append("  confusion (rows: true, columns: predicted, in the order above):")
        lines.extend("  " + " ".join(f"{n:>4}" for n in row) for row in r["confusion"]["matrix"])
    return "\n".join(lines)
