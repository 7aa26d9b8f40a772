"""How far two careful annotators agree: the ceiling a classifier can be measured against.

    .venv/bin/python bench/agreement.py

Each file under models/training/audit/ holds a second annotator's labels, one line per email:
{"file", "line", "category", "urgency"}, pointing at an email of models/training/. The second
annotators were helper sessions that read only the emails (subject and text, never the labels,
the repository or the other splits) and labelled them by the taxonomy's one-line definitions.
This prints, per labelled file, the macro-F1 of the shipped labels against the second ones
(the score the shipped labels would get as a "model" of the second annotator), and writes
bench/results/agreement.json.

Reading the held-out emails to label them is not training on them: nothing here is fed to a
model, and scripts/build-default-model.py reads only models/training/train-*.jsonl and
seed.jsonl.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from sklearn.metrics import f1_score

ROOT = Path(__file__).resolve().parent.parent
SPLIT = ROOT / "models" / "training"


def labels_of(path: Path) -> dict[int, dict[str, Any]]:
    return {
        n: json.loads(line)
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if line.strip()
    }


def main() -> None:
    pairs: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
    for audit in sorted((SPLIT / "audit").glob("*.jsonl")):
        shipped: dict[str, dict[int, dict[str, Any]]] = {}
        for line in audit.read_text(encoding="utf-8").splitlines():
            second = json.loads(line)
            name = second["file"]
            if name not in shipped:
                shipped[name] = labels_of(SPLIT / name)
            first = shipped[name][second["line"]]
            group = "held-out" if name == "heldout.jsonl" else name
            for head in ("category", "urgency"):
                pairs[group][head].append((first[head], second[head]))
    rows = []
    print(f"{'file':<22} {'emails':>6} {'category F1':>12} {'urgency F1':>11}")
    training: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for group, heads in sorted(pairs.items()):
        row = {"file": group, "emails": len(heads["urgency"])}
        for head, labelled in heads.items():
            row[head] = round(f1_score(*zip(*labelled, strict=True), average="macro"), 3)
            if group != "held-out":
                training[head] += labelled
        rows.append(row)
        print(f"{group:<22} {row['emails']:>6} {row['category']:>12} {row['urgency']:>11}")
    total = {
        "file": "training split, all",
        "emails": len(training["urgency"]),
        **{
            h: round(f1_score(*zip(*p, strict=True), average="macro"), 3)
            for h, p in training.items()
        },
    }
    rows.append(total)
    print(
        f"{total['file']:<22} {total['emails']:>6} {total['category']:>12} {total['urgency']:>11}"
    )
    out = ROOT / "bench" / "results" / "agreement.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    print(f"\nJSON: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
