"""Confusion matrices as PNG files that an image reader opens."""

from __future__ import annotations

from pathlib import Path

from matplotlib import image

from mailbot.ml.evaluate import head_report
from mailbot.ml.plots import confusion_pngs

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_one_png_per_head(tmp_path: Path) -> None:
    cats = ["deposit_withdrawal", "trading", "technical"]
    urgs = ["critical", "high", "normal", "low"]
    report = {
        "category": head_report(
            ["trading", "trading", "technical", "deposit_withdrawal"],
            ["trading", "technical", "technical", "deposit_withdrawal"],
            cats,
        ),
        "urgency": head_report(["high", "low", "critical"], ["high", "normal", "high"], urgs),
    }
    paths = confusion_pngs(report, tmp_path / "out", prefix="cv-", title="test")
    assert [p.name for p in paths] == ["cv-confusion-category.png", "cv-confusion-urgency.png"]
    for path in paths:
        assert path.stat().st_size > 0
        assert path.read_bytes()[:8] == PNG_MAGIC
        pixels = image.imread(path)
        height, width = pixels.shape[:2]
        assert height > 100 and width > 100
        assert pixels.min() < pixels.max()  # not a blank picture
