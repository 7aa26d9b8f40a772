"""The automatic promotion gate: not worse on any figure, within the tolerance."""

from __future__ import annotations

from pathlib import Path

from mailbot.ml.gate import gate_figures, judge
from mailbot.resources import shipped
from mailbot.settings import ClassifierSettings

ACTIVE = {"category_macro_f1": 0.89, "urgency_macro_f1": 0.78, "critical_recall": 0.90}


def test_equal_or_better_everywhere_is_promoted() -> None:
    assert judge(dict(ACTIVE), ACTIVE, tolerance=0.0).promote
    better = {"category_macro_f1": 0.95, "urgency_macro_f1": 0.78, "critical_recall": 0.91}
    decision = judge(better, ACTIVE, tolerance=0.0)
    assert decision.promote and decision.worse == ()


def test_worse_on_any_figure_is_refused_unless_within_tolerance() -> None:
    lower_recall = ACTIVE | {"critical_recall": 0.88, "category_macro_f1": 0.99}
    decision = judge(lower_recall, ACTIVE, tolerance=0.0)
    assert not decision.promote and decision.worse == ("critical_recall",)
    assert judge(lower_recall, ACTIVE, tolerance=0.02).promote
    assert not judge(lower_recall, ACTIVE, tolerance=0.019).promote


def test_lines_show_both_models_and_the_verdict() -> None:
    decision = judge(ACTIVE | {"urgency_macro_f1": 0.70}, ACTIVE, tolerance=0.0)
    lines = decision.lines("20261122-101010", "default")
    assert "urgency_macro_f1" in lines[0]
    assert lines[1].startswith("20261122-101010") and "0.700" in lines[1]
    assert lines[2].startswith("default") and "0.780" in lines[2]
    assert lines[-1].startswith("gate failed") and "urgency_macro_f1" in lines[-1]
    assert decision.as_dict()["worse"] == ["urgency_macro_f1"]


def test_figures_come_from_an_evaluate_report() -> None:
    report = {
        "category": {"macro_f1": 0.9, "per_class": {}},
        "urgency": {"macro_f1": 0.8, "per_class": {"urgent": {"recall": 0.5}}},
    }
    assert gate_figures(report, "urgent") == {
        "category_macro_f1": 0.9,
        "urgency_macro_f1": 0.8,
        "urgent_recall": 0.5,
    }


def test_gate_data_defaults_to_the_shipped_heldout_split() -> None:
    default = ClassifierSettings()
    assert not default.auto_promote and default.gate_tolerance == 0.0
    assert default.gate_path == shipped("models") / "training" / "heldout.jsonl"
    assert default.gate_path.is_file()
    assert ClassifierSettings(gate_data=Path("/srv/gate.csv")).gate_path == Path("/srv/gate.csv")
