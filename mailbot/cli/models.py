"""`mailbot train`, `mailbot evaluate`, `mailbot models list|promote|rollback`."""

from __future__ import annotations

import json
import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from tabulate import tabulate

from mailbot.adapters.db import make_engine, migrate
from mailbot.adapters.modelregistry import ModelRegistry
from mailbot.adapters.modelstore import load_model
from mailbot.adapters.operator import labelled_examples, record_label
from mailbot.adapters.store import Store
from mailbot.cli.common import config_option, exits, load
from mailbot.cli.tickets import FORMAT
from mailbot.errors import InputError, MailbotError
from mailbot.ml.evaluate import evaluate as evaluate_model
from mailbot.ml.evaluate import head_report, report_text
from mailbot.ml.gate import compare_models
from mailbot.ml.plots import confusion_pngs
from mailbot.ml.train import Example, cross_validate, file_sha256, read_labelled, train_model
from mailbot.resources import shipped
from mailbot.settings import Settings

DATA = click.option(
    "--data",
    "data",
    type=click.Path(path_type=Path, dir_okay=False),
    multiple=True,
    required=True,
    help="Labelled JSONL or CSV (repeatable).",
)


def _registry(settings: Settings) -> ModelRegistry:
    engine = make_engine(settings.database_url)
    migrate(engine)
    return ModelRegistry(
        Store(engine), shipped_dir=settings.models_dir, state_dir=settings.state_dir
    )


def shipped_training_split() -> tuple[Path, ...]:
    """What `train --from-db` learns from besides the corrections when no --data is given."""
    folder = shipped("models") / "training"
    return (*sorted(folder.glob("train-*.jsonl")), folder / "seed.jsonl")


def _examples(
    settings: Settings, paths: tuple[Path, ...], *, from_db: bool = False
) -> list[Example]:
    tax = settings.taxonomy
    problems: list[str] = []
    examples: list[Example] = []
    if not paths and not from_db:
        raise InputError("give --data FILE (repeatable), --from-db, or both")
    if from_db and not paths:
        paths = shipped_training_split()  # corrections alone are too few to learn from
    if from_db:
        store = Store(make_engine(settings.database_url, create=False))
        examples += [Example(*row) for row in labelled_examples(store)]
    for path in paths:
        try:
            examples += read_labelled(path, categories=tax.categories, urgencies=tax.urgencies)
        except InputError as exc:
            problems.append(str(exc))
    if problems:
        raise InputError("\n".join(problems))
    if not examples:
        raise InputError("no labelled examples in " + ", ".join(map(str, paths)))
    return examples


@click.command()
@click.option(
    "--data",
    "data",
    type=click.Path(path_type=Path, dir_okay=False),
    multiple=True,
    help="Labelled JSONL or CSV (repeatable); with --from-db alone: the shipped training split.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Model directory (default: <state_dir>/models/<version>).",
)
@click.option("--promote", is_flag=True, help="Make the new model the active one.")
@click.option(
    "--auto-promote/--no-auto-promote",
    default=None,
    help="Promote only if not worse than the active model on classifier.gate_data "
    "(default: classifier.auto_promote).",
)
@click.option(
    "--from-db", is_flag=True, help="Also train on tickets corrected with `mailbot label`."
)
@click.option(
    "--cv",
    "folds",
    type=click.IntRange(0, 20),
    default=5,
    show_default=True,
    help="Stratified cross-validation folds before training (0: skip); the report and its "
    "confusion-matrix PNGs go into the model directory.",
)
@config_option
@exits
def train(
    data: tuple[Path, ...],
    out: Path | None,
    promote: bool,
    auto_promote: bool | None,
    from_db: bool,
    folds: int,
    config_path: Path | None,
) -> None:
    """Train a new model version from labelled mail; nothing is half-written on failure."""
    settings = load(config_path)
    examples = _examples(settings, data, from_db=from_db)
    gated = not promote and (
        settings.classifier.auto_promote if auto_promote is None else auto_promote
    )
    gate_examples = _gate_examples(settings) if gated else []  # a bad file fails before training
    now = datetime.now(UTC)
    version = now.strftime("%Y%m%d-%H%M%S")
    target = out or settings.state_dir / "models" / version
    if target.exists():
        raise InputError(f"{target} exists already")
    cv = _cross_validate(examples, folds, settings) if folds else None
    click.echo(f"training {version} on {len(examples)} examples ...", err=True)
    _write_model(settings, examples, target, version=version, now=now, cv=cv, data=data)
    seconds = (datetime.now(UTC) - now).total_seconds()
    click.echo(f"wrote {target} in {seconds:.1f} s")
    if promote:
        _registry(settings).activate(version, now=datetime.now(UTC))
        click.echo(f"promoted {version}: the running daemon switches within a minute")
    elif gated:
        _gate(settings, version, target, gate_examples)


def _write_model(
    settings: Settings,
    examples: list[Example],
    target: Path,
    *,
    version: str,
    now: datetime,
    cv: dict[str, Any] | None,
    data: tuple[Path, ...],
) -> None:
    """Train into a staging directory and rename it: complete or not there at all."""
    staging = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        train_model(
            examples,
            staging,
            version=version,
            created=now,
            categories=settings.taxonomy.categories,
            urgencies=settings.taxonomy.urgencies,
            data_hash=file_sha256(list(data)),
            rules=settings.classifier.compiled_rules(),
        )
        if cv is not None:
            _write_cv_report(cv, staging)
        staging.rename(target)  # atomic: the directory appears complete or not at all
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _cross_validate(examples: list[Example], folds: int, settings: Settings) -> dict[str, Any]:
    """Out-of-fold predictions of the whole training procedure, as an evaluate-style report."""
    tax = settings.taxonomy
    with click.progressbar(
        length=folds, label=f"{folds}-fold cross-validation", file=sys.stderr
    ) as bar:
        cv = cross_validate(
            examples,
            folds=folds,
            urgencies=tax.urgencies,
            progress=lambda _fold: bar.update(1),
            rules=settings.classifier.compiled_rules(),
        )
    predicted = cv.pop("predicted")
    cv["report"] = {
        "category": head_report(
            [e.category for e in examples], predicted["category"], tax.categories
        ),
        "urgency": head_report([e.urgency for e in examples], predicted["urgency"], tax.urgencies),
        "model": f"{folds}-fold cross-validation (out-of-fold)",
        "examples": len(examples),
    }
    click.echo(report_text(cv["report"]))
    for head in ("category", "urgency"):
        result = cv[head]
        folds_text = ", ".join(f"{x:.3f}" for x in result["folds"])
        click.echo(
            f"cross-validated {head} macro-F1 {result['macro_f1_mean']:.3f} (folds {folds_text})"
        )
    triage = cv["triage"]
    click.echo(
        f"cross-validated triage: threshold {triage['suggested_threshold']:.2f} sends "
        f"{triage['triaged_fraction']:.0%} to triage; the rest is "
        f"{triage['accuracy_above']:.1%} correct"
    )
    return cv


def _write_cv_report(cv: dict[str, Any], directory: Path) -> None:
    """cross_validation.json, cv-report.txt and cv-confusion-{category,urgency}.png."""
    (directory / "cross_validation.json").write_text(json.dumps(cv, indent=2) + "\n")
    (directory / "cv-report.txt").write_text(report_text(cv["report"]) + "\n", encoding="utf-8")
    confusion_pngs(cv["report"], directory, prefix="cv-", title="cross-validation")


def _gate_examples(settings: Settings) -> list[Example]:
    path = settings.classifier.gate_path
    if not path.is_file():
        raise InputError(f"classifier.gate_data: {path} is not a file")
    return _examples(settings, (path,))


def _gate(settings: Settings, version: str, directory: Path, examples: list[Example]) -> None:
    """Compare the new model with the active one on the gate file; promote when not worse.
    The figures and the verdict are recorded in the audit log either way."""
    tax = settings.taxonomy
    registry = _registry(settings)
    active_version, active_dir = registry.active()
    new = load_model(directory, categories=tax.categories, urgencies=tax.urgencies)
    try:
        active = load_model(active_dir, categories=tax.categories, urgencies=tax.urgencies)
    except MailbotError as exc:
        click.echo(f"gate: the active model {active_version} does not load ({exc}); not promoted")
        return
    decision = compare_models(
        new,
        active,
        examples,
        categories=tax.categories,
        urgencies=tax.urgencies,
        tolerance=settings.classifier.gate_tolerance,
    )
    click.echo(f"gate: {len(examples)} examples from {settings.classifier.gate_path}")
    for line in decision.lines(version, active_version):
        click.echo(line)
    now = datetime.now(UTC)
    registry.record_gate(version, decision.as_dict() | {"active_version": active_version}, now=now)
    if decision.promote:
        registry.activate(version, now=now, action="auto-promote")


@click.command()
@DATA
@click.option(
    "--model",
    "model_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="A model directory (default: the active model).",
)
@click.option(
    "--report-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Also write report.txt, report.json and confusion-{category,urgency}.png here.",
)
@FORMAT
@config_option
@exits
def evaluate(
    data: tuple[Path, ...],
    model_dir: Path | None,
    report_dir: Path | None,
    fmt: str,
    config_path: Path | None,
) -> None:
    """Scores of a model on labelled data: per class, macro-F1, accuracy, confusion."""
    settings = load(config_path)
    tax = settings.taxonomy
    directory = model_dir or _registry(settings).active()[1]
    model = load_model(directory, categories=tax.categories, urgencies=tax.urgencies)
    report = evaluate_model(
        model, _examples(settings, data), categories=tax.categories, urgencies=tax.urgencies
    )
    if report_dir is not None:
        report_dir.mkdir(parents=True, exist_ok=True)
        (report_dir / "report.txt").write_text(report_text(report) + "\n", encoding="utf-8")
        (report_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        pngs = confusion_pngs(report, report_dir, prefix="", title=f"model {report['model']}")
        click.echo(f"wrote {report_dir}/report.txt and {len(pngs)} PNG files", err=True)
    click.echo(json.dumps(report, indent=2) if fmt == "json" else report_text(report))


@click.command()
@click.argument("ref")
@click.argument("category")
@click.argument("urgency", required=False)
@config_option
@exits
def label(ref: str, category: str, urgency: str | None, config_path: Path | None) -> None:
    """Record the right CATEGORY (and URGENCY) of ticket REF, for `train --from-db`."""
    settings = load(config_path)
    tax = settings.taxonomy
    if category not in tax.categories:
        raise InputError(f"unknown category {category!r}; the taxonomy has {tax.categories}")
    if urgency is not None and urgency not in tax.urgencies:
        raise InputError(f"unknown urgency {urgency!r}; the taxonomy has {tax.urgencies}")
    store = Store(make_engine(settings.database_url, create=False))
    try:
        kept = record_label(store, ref, category, urgency, now=datetime.now(UTC))
    except LookupError:
        raise MailbotError(f"no ticket {ref}") from None
    click.echo(f"{ref}: labelled {kept[0]}/{kept[1]}")


@click.group()
def models() -> None:
    """Model versions: list, promote, roll back."""


@models.command("list")
@config_option
@exits
def list_(config_path: Path | None) -> None:
    """Every model version; * marks the active one."""
    registry = _registry(load(config_path))
    active = registry.active()[0]
    rows = [
        [
            "*" if e.version == active else "",
            e.version,
            e.metadata.raw.get("created", "") if e.metadata else "(unreadable)",
            e.metadata.raw.get("examples", "") if e.metadata else "",
            str(e.path),
        ]
        for e in registry.entries()
    ]
    click.echo(tabulate(rows, headers=["", "version", "created", "examples", "path"]))


@models.command()
@click.argument("version")
@config_option
@exits
def promote(version: str, config_path: Path | None) -> None:
    """Make VERSION the active model (refused when it does not load or fit the taxonomy)."""
    settings = load(config_path)
    registry = _registry(settings)
    tax = settings.taxonomy
    load_model(registry.find(version).path, categories=tax.categories, urgencies=tax.urgencies)
    entry = registry.activate(version, now=datetime.now(UTC))
    click.echo(f"active model: {entry.version}")


@models.command()
@config_option
@exits
def rollback(config_path: Path | None) -> None:
    """Go back to the model that was active before the current one."""
    entry = _registry(load(config_path)).rollback(now=datetime.now(UTC))
    click.echo(f"active model: {entry.version}")
