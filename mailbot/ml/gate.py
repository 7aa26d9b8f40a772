"""The automatic promotion gate: a new model replaces the active one only when it is not worse
on a fixed labelled file (by default the frozen held-out split) by any of the figures that
matter: category macro-F1, urgency macro-F1, and recall of the most urgent urgency."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mailbot.adapters.modelstore import Model
from mailbot.ml.evaluate import evaluate
from mailbot.ml.train import Example


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    new: dict[str, float]
    active: dict[str, float]
    tolerance: float
    worse: tuple[str, ...]  # the figures on which the new model lost more than the tolerance

    def as_dict(self) -> dict[str, Any]:
        return {
            "promote": self.promote,
            "new": self.new,
            "active": self.active,
            "tolerance": self.tolerance,
            "worse": list(self.worse),
        }

    def lines(self, new_version: str, active_version: str) -> list[str]:
        """Both models' figures and the decision, for the operator."""
        width = max(len(new_version), len(active_version))
        rows = [
            f"{'gate':<{width}}  " + "  ".join(f"{name:>22}" for name in self.new),
            *(
                f"{version:<{width}}  " + "  ".join(f"{figures[n]:>22.3f}" for n in self.new)
                for version, figures in ((new_version, self.new), (active_version, self.active))
            ),
        ]
        if self.promote:
            rows.append(
                f"gate passed: {new_version} is not worse than {active_version} "
                f"(tolerance {self.tolerance:g}); promoting it"
            )
        else:
            rows.append(
                f"gate failed: {new_version} is worse than {active_version} on "
                f"{', '.join(self.worse)} (tolerance {self.tolerance:g}); not promoted"
            )
        return rows


def gate_figures(report: Mapping[str, Any], most_urgent: str) -> dict[str, float]:
    """The compared figures of an `evaluate` report."""
    return {
        "category_macro_f1": float(report["category"]["macro_f1"]),
        "urgency_macro_f1": float(report["urgency"]["macro_f1"]),
        f"{most_urgent}_recall": float(report["urgency"]["per_class"][most_urgent]["recall"]),
    }


def judge(
    new: Mapping[str, float], active: Mapping[str, float], *, tolerance: float
) -> GateDecision:
    """Promote when no figure of the new model is below the active one's minus tolerance."""
    worse: Sequence[str] = [name for name in new if new[name] < active[name] - tolerance - 1e-9]
    return GateDecision(not worse, dict(new), dict(active), tolerance, tuple(worse))


def compare_models(
    new: Model,
    active: Model,
    examples: Sequence[Example],
    *,
    categories: Sequence[str],
    urgencies: Sequence[str],
    tolerance: float,
) -> GateDecision:
    """Evaluate both models on the gate examples and judge the new one."""
    figures = [
        gate_figures(
            evaluate(model, examples, categories=categories, urgencies=urgencies), urgencies[0]
        )
        for model in (new, active)
    ]
    return judge(figures[0], figures[1], tolerance=tolerance)
