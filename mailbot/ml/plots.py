"""Confusion matrices as PNG pictures, next to the text report (matplotlib, Agg backend)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

HEADS = ("category", "urgency")


def confusion_png(head_report: Mapping[str, Any], path: Path, *, title: str) -> Path:
    """One head's confusion matrix (rows: true label, columns: predicted) as a PNG.

    Cells are shaded by the share of their row, so a weak class stands out however rare it
    is; the count is written in every cell.
    """
    # Figure + the Agg canvas directly: no pyplot global state, no display, thread-safe.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    labels = list(head_report["confusion"]["labels"])
    matrix = [list(row) for row in head_report["confusion"]["matrix"]]
    shares = [[n / max(1, sum(row)) for n in row] for row in matrix]
    size = 1.6 + 0.75 * len(labels)
    figure = Figure(figsize=(size + 1.5, size), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, label="share of the true label's examples")
    axes.set_xticks(range(len(labels)), labels, rotation=40, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(
        f"{title}\nmacro-F1 {head_report['macro_f1']:.3f}, accuracy {head_report['accuracy']:.3f}"
    )
    for i, row in enumerate(matrix):
        for j, n in enumerate(row):
            colour = "white" if shares[i][j] > 0.5 else "black"
            axes.text(j, i, str(n), ha="center", va="center", color=colour, fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path


def confusion_pngs(
    report: Mapping[str, Any], directory: Path, *, prefix: str, title: str
) -> list[Path]:
    """`<prefix>confusion-category.png` and `<prefix>confusion-urgency.png` in directory."""
    return [
        confusion_png(
            report[head], directory / f"{prefix}confusion-{head}.png", title=f"{title}: {head}"
        )
        for head in HEADS
    ]
