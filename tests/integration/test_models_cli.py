"""Operators retrain, evaluate, promote and roll back the classifier with one command each."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mailbot.resources import shipped

SEED = shipped("models") / "training" / "seed.jsonl"
ENGLISH = shipped("models") / "training" / "train-en.jsonl"


def assert_png(path: Path) -> None:
    from matplotlib import image

    assert path.stat().st_size > 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.imread(path).shape[0] > 100


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailbot", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def offline_config(tmp_path: Path) -> Path:
    """Model commands need no mail server; the config still names one."""
    path = tmp_path / "mailbot.toml"
    path.write_text(
        '[imap]\nhost = "127.0.0.1"\nusername = "s@example.test"\ntls = "none"\n'
        '[smtp]\nhost = "127.0.0.1"\ntls = "none"\nfrom_address = "s@example.test"\n'
    )
    return path


def test_train_promote_evaluate_rollback(offline_config: Path, tmp_path: Path) -> None:
    trained = cli(offline_config, "train", "--data", str(ENGLISH), "--promote", "--cv", "2")
    assert trained.returncode == 0, trained.stderr
    assert "cross-validated category macro-F1" in trained.stdout
    version = trained.stdout.split("promoted ")[1].split(":")[0]
    model_dir = tmp_path / "state" / "models" / version
    meta = json.loads((model_dir / "metadata.json").read_text())
    cv = json.loads((model_dir / "cross_validation.json").read_text())
    assert len(cv["urgency"]["folds"]) == 2
    assert meta["examples"] == 498 and meta["taxonomy"]["urgencies"][0] == "critical"
    assert 0 < meta["thresholds"]["urgency"]["critical"] < 1
    assert not list((tmp_path / "state" / "models").glob(".*partial*"))
    assert "confusion (rows: true" in trained.stdout  # the out-of-fold report is printed
    assert "cross-validated triage: threshold" in trained.stdout
    assert "macro-F1" in (model_dir / "cv-report.txt").read_text()
    for head in ("category", "urgency"):
        assert_png(model_dir / f"cv-confusion-{head}.png")

    listed = cli(offline_config, "models", "list").stdout
    active_line = next(line for line in listed.splitlines() if line.startswith("*"))
    assert version in active_line

    reports = tmp_path / "reports"
    evaluated = cli(
        offline_config,
        "evaluate",
        "--data",
        str(ENGLISH),
        "--format",
        "json",
        "--report-dir",
        str(reports),
    )
    report = json.loads(evaluated.stdout)
    assert json.loads((reports / "report.json").read_text()) == report
    assert "confusion (rows: true" in (reports / "report.txt").read_text()
    for head in ("category", "urgency"):
        assert_png(reports / f"confusion-{head}.png")
    assert report["model"] == version
    assert set(report) >= {"category", "urgency", "model"}
    assert report["category"]["accuracy"] > 0.9  # it was trained on these very rows
    assert set(report["category"]["per_class"]) == set(meta["taxonomy"]["categories"])
    assert 0 <= report["urgency"]["macro_f1"] <= 1

    rolled = cli(offline_config, "models", "rollback")
    assert rolled.returncode == 0 and "active model: default" in rolled.stdout
    assert cli(offline_config, "models", "rollback").returncode == 1  # nothing before default
    assert cli(offline_config, "models", "promote", "no-such").returncode == 1


def test_bad_training_data_names_file_and_line_and_writes_nothing(
    offline_config: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    good = SEED.read_text(encoding="utf-8").splitlines()[0]
    bad.write_text(
        "\n".join(
            [
                good,
                '{"text": "help", "category": "banana", "urgency": "high"}',
                '{"text": "", "category": "trading", "urgency": "high"}',
                '{"category": "trading", "urgency": "high"}',
                good,
                "not json",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    done = cli(offline_config, "train", "--data", str(bad))
    assert done.returncode == 2
    for expected in (
        "bad.jsonl:2: category 'banana'",
        "bad.jsonl:3: empty text",
        "bad.jsonl:4: missing 'text'",
        "bad.jsonl:5: duplicate of line 1",
        "bad.jsonl:6: not JSON",
    ):
        assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "state" / "models").exists() or not any(
        (tmp_path / "state" / "models").iterdir()
    )
    csv_missing = tmp_path / "x.csv"
    csv_missing.write_text("subject,body\nx,y\n", encoding="utf-8")
    missing = cli(offline_config, "train", "--data", str(csv_missing))
    assert missing.returncode == 2 and "missing columns" in missing.stderr
    # 56 seed rows hold one 'low' per language: too few for 2-fold CV plus calibration.
    tiny = cli(offline_config, "train", "--data", str(SEED), "--cv", "2")
    assert tiny.returncode == 2 and "fewer than 2 examples" in tiny.stderr
    assert "Traceback" not in tiny.stderr


def test_label_corrections_feed_training_from_the_database(
    offline_config: Path, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from mailbot.adapters.db import make_engine, migrate
    from mailbot.adapters.store import Store
    from mailbot.testing.seed import customer_raw, seed_tickets

    engine = make_engine(f"sqlite:///{tmp_path / 'state' / 'mailbot.db'}")
    migrate(engine)
    raw = customer_raw(1, subject="API 1022", body="Signature fails")
    seed_tickets(
        Store(engine),
        [raw],
        now=datetime(2026, 11, 22, 9, 0, tzinfo=UTC),
        urgency="low",
        acknowledge=False,
    )
    engine.dispose()

    assert cli(offline_config, "label", "MB-000001", "banana").returncode == 2
    assert cli(offline_config, "label", "MB-999999", "technical").returncode == 1
    done = cli(offline_config, "label", "MB-000001", "technical", "high")
    assert done.returncode == 0 and "technical/high" in done.stdout
    trained = cli(offline_config, "train", "--data", str(SEED), "--from-db", "--cv", "0")
    assert trained.returncode == 0, trained.stderr
    assert "on 57 examples" in trained.stderr  # the seed's 56 plus the corrected ticket
    nothing = cli(offline_config, "train", "--cv", "0")
    assert nothing.returncode == 2 and "--from-db" in nothing.stderr


def test_from_db_alone_learns_from_the_shipped_training_split_too() -> None:
    """What the nightly retrain timer runs: `train --from-db --auto-promote`."""
    from mailbot.cli.models import shipped_training_split

    files = shipped_training_split()
    assert len(files) >= 5 and all(f.is_file() for f in files)
    assert any(f.name == "seed.jsonl" for f in files)
    assert not any("heldout" in f.name for f in files)  # never the gate's own data


def tiny_subset(path: Path, out: Path) -> Path:
    """Three emails per category with at least two per urgency: a model that must be worse."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    picked: list[dict[str, str]] = []
    for category in sorted({r["category"] for r in rows}):
        picked += [r for r in rows if r["category"] == category][:3]
    for urgency in ("critical", "high", "normal", "low"):
        picked += [r for r in rows if r["urgency"] == urgency and r not in picked][:2]
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in picked))
    return out


def test_auto_promotion_gate_promotes_only_a_model_that_is_not_worse(
    offline_config: Path, tmp_path: Path
) -> None:
    from mailbot.adapters.db import make_engine
    from mailbot.adapters.modelregistry import ModelRegistry
    from mailbot.adapters.store import Store

    first = cli(offline_config, "train", "--data", str(ENGLISH), "--cv", "0", "--promote")
    assert first.returncode == 0, first.stderr
    active = first.stdout.split("promoted ")[1].split(":")[0]

    tiny = tiny_subset(ENGLISH, tmp_path / "tiny.jsonl")
    worse = cli(offline_config, "train", "--data", str(tiny), "--cv", "0", "--auto-promote")
    assert worse.returncode == 0, worse.stderr
    assert "gate failed" in worse.stdout and "not promoted" in worse.stdout
    assert active in worse.stdout  # the active model's figures are shown too
    listed = cli(offline_config, "models", "list").stdout
    assert active in next(line for line in listed.splitlines() if line.startswith("*"))

    # Training is deterministic: the same data gives the same figures, which is not worse.
    same = cli(offline_config, "train", "--data", str(ENGLISH), "--cv", "0", "--auto-promote")
    assert same.returncode == 0, same.stderr
    assert "gate passed" in same.stdout
    promoted = same.stdout.split("wrote ")[1].split(" in ")[0].rsplit("/", 1)[1]
    listed = cli(offline_config, "models", "list").stdout
    assert promoted in next(line for line in listed.splitlines() if line.startswith("*"))

    engine = make_engine(f"sqlite:///{tmp_path / 'state' / 'mailbot.db'}", create=False)
    registry = ModelRegistry(Store(engine), shipped_dir=tmp_path, state_dir=tmp_path / "state")
    history = registry.gate_history()
    engine.dispose()
    assert [h["promote"] for h in history] == [False, True]
    assert history[0]["active_version"] == active and history[0]["worse"]
    assert history[1]["new"] == history[1]["active"]
