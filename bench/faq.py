"""FAQ suggestions: how often the right article is offered, and how often a wrong one is.

    .venv/bin/python -m bench.faq [--cases tests/corpus/faq_cases.jsonl]

The cases (customer emails with the slugs that genuinely answer them, a third with none) were
written separately from the articles. They are split in two by line number: the margin is
chosen on the even lines (the lowest one at which >= 95 % of suggested articles are relevant)
and the figures are reported on the odd lines, which the choice never saw.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from tabulate import tabulate

from mailbot.adapters.knowledge import load_articles
from mailbot.core.faq import FaqIndex, FaqPolicy
from mailbot.resources import shipped

ROOT = Path(__file__).resolve().parent.parent
TARGET_PRECISION = 0.95


def read_cases(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def background_texts() -> list[str]:
    """Ordinary support mail from the classifier's training split: it teaches the vectoriser
    which n-grams every email has ("hello", "account", "안녕하세요")."""
    texts = []
    for path in sorted((shipped("models") / "training").glob("train-*.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                texts.append(f"{row.get('subject', '')}\n{row['text']}")
    return texts


def score(index: FaqIndex, cases: Sequence[dict[str, object]]) -> dict[str, float]:
    suggested = relevant = answerable = answered = wrong_cases = quiet = no_answer = 0
    for case in cases:
        expected = set(case["expected"])  # type: ignore[call-overload]
        text = f"{case.get('subject', '')}\n{case['text']}"
        links = index.suggest(text, str(case["language"]))
        suggested += len(links)
        relevant += sum(link.slug in expected for link in links)
        wrong_cases += any(link.slug not in expected for link in links)
        if expected:
            answerable += 1
            answered += bool(links) and links[0].slug in expected
        else:
            no_answer += 1
            quiet += not links
    return {
        "precision": relevant / suggested if suggested else 1.0,
        "top1_hit": answered / answerable if answerable else 0.0,
        "cases_with_a_wrong_link": wrong_cases / len(cases),
        "silent_when_nothing_fits": quiet / no_answer if no_answer else 1.0,
        "links_per_email": suggested / len(cases),
    }


def choose_margin(make: Callable[[float], FaqIndex], cases: Sequence[dict[str, object]]) -> float:
    for step in range(1, 40):
        margin = step / 200
        if score(make(margin), cases)["precision"] >= TARGET_PRECISION:
            return margin
    return 0.2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=Path, default=ROOT / "tests/corpus/faq_cases.jsonl")
    args = parser.parse_args()
    cases = read_cases(args.cases)
    tune, report = cases[0::2], cases[1::2]
    articles = load_articles(shipped("templates") / "kb")
    background = background_texts()  # tried: it made suggestions rarer, not better
    rows = []
    for name, extra in (("articles only", ()), ("+ training mail as background", background)):
        index = FaqIndex(articles, background=extra)

        def make(margin: float, index: FaqIndex = index) -> FaqIndex:
            return index.with_policy(FaqPolicy(margin=margin))

        margin = choose_margin(make, tune)
        held = score(make(margin), report)
        rows.append([name, margin, *(round(v, 3) for v in held.values())])
        for language in sorted({str(c["language"]) for c in report}):
            part = [c for c in report if c["language"] == language]
            rows.append(
                [f"  {language}", "", *(round(v, 3) for v in score(make(margin), part).values())]
            )
    headers = ["IDF from", "margin (tuned on even lines)", *score(make(0.5), report)]
    print(f"{len(articles)} articles, {len(cases)} cases ({len(report)} reported)")
    print(tabulate(rows, headers=headers))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "faq.json").write_text(json.dumps({"headers": headers, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
