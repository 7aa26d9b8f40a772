"""The daemon follows promotions without a restart, and never swaps in a broken model."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailbot.adapters.modelregistry import ActiveModel, ModelRegistry
from mailbot.adapters.store import Store
from mailbot.clock import FrozenClock
from mailbot.resources import shipped
from mailbot.settings import DEFAULT_CATEGORIES, DEFAULT_URGENCIES

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def copy_model(state: Path, version: str, *, corrupt: str = "", runtime: bool = True) -> None:
    """The shipped model as `version`; `corrupt` names a file to spoil, `runtime=False` drops
    runtime.npz (a model from before the numpy export: loaded with scikit-learn)."""
    target = state / "models" / version
    shutil.copytree(shipped("models") / "default", target)
    meta = json.loads((target / "metadata.json").read_text())
    (target / "metadata.json").write_text(json.dumps(meta | {"version": version}))
    if not runtime:
        (target / "runtime.npz").unlink()
    if corrupt:
        (target / corrupt).write_bytes(b"not a model")


@pytest.mark.parametrize(("corrupt", "runtime"), [("runtime.npz", True), ("category.skops", False)])
def test_a_corrupt_model_never_replaces_the_running_one(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture, corrupt: str, runtime: bool
) -> None:
    state = tmp_path / "state"
    copy_model(state, "v2", runtime=runtime)
    copy_model(state, "v3-broken", corrupt=corrupt, runtime=runtime)
    registry = ModelRegistry(store, shipped_dir=shipped("models"), state_dir=state)
    clock = FrozenClock(NOW)
    active = ActiveModel(
        registry, categories=DEFAULT_CATEGORIES, urgencies=DEFAULT_URGENCIES, clock=clock
    )
    registry.activate("v2", now=NOW)
    clock.advance(timedelta(seconds=31))
    v2 = active()
    assert v2.version == "v2"
    assert (type(v2).__name__ == "RuntimeModel") is runtime  # without the export: sklearn
    registry.activate("v3-broken", now=NOW)
    clock.advance(timedelta(seconds=31))
    assert active() is v2
    assert any(
        "ALERT keeping model v2" in r.getMessage() and corrupt in r.getMessage()
        for r in caplog.records
    )


def test_promotion_is_followed_and_a_broken_model_is_refused(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state"
    copy_model(state, "v2")
    copy_model(state, "v3-broken", corrupt="runtime.npz")
    registry = ModelRegistry(store, shipped_dir=shipped("models"), state_dir=state)
    clock = FrozenClock(NOW)
    active = ActiveModel(
        registry, categories=DEFAULT_CATEGORIES, urgencies=DEFAULT_URGENCIES, clock=clock
    )
    first = active().version
    registry.activate("v2", now=NOW)
    assert active().version == first  # not re-read before check_every has passed
    clock.advance(timedelta(seconds=31))
    assert active().version == "v2"
    registry.activate("v3-broken", now=NOW)
    clock.advance(timedelta(seconds=31))
    assert active().version == "v2"  # kept, with an alert
    assert any("ALERT keeping model v2" in r.getMessage() for r in caplog.records)
    assert registry.rollback(now=NOW).version == "v2"
    assert registry.rollback(now=NOW).version == "default"


def test_gate_decisions_are_audited_and_auto_promotions_roll_back(
    store: Store, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    copy_model(state, "v2")
    copy_model(state, "v3")
    registry = ModelRegistry(store, shipped_dir=shipped("models"), state_dir=state)
    refused = {"promote": False, "worse": ["critical_recall"], "active_version": "default"}
    registry.record_gate("v2", refused, now=NOW)
    registry.record_gate("v3", {"promote": True, "worse": []}, now=NOW + timedelta(minutes=1))
    registry.activate("v3", now=NOW, action="auto-promote")
    history = registry.gate_history()
    assert [(h["version"], h["promote"]) for h in history] == [("v2", False), ("v3", True)]
    assert history[0]["worse"] == ["critical_recall"]
    assert history[0]["at"].startswith("2026-11-22T09:00")
    assert registry.active()[0] == "v3"
    assert registry.rollback(now=NOW).version == "default"


def test_a_model_the_worker_holds_is_checked_here_but_not_kept(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """resident=False (the prepare worker classifies): each model is loaded once to check it,
    then freed; a broken promotion is still refused; calling the instance loads it for good."""
    state = tmp_path / "state"
    copy_model(state, "v2")
    copy_model(state, "v3-broken", corrupt="runtime.npz")
    registry = ModelRegistry(store, shipped_dir=shipped("models"), state_dir=state)
    clock = FrozenClock(NOW)
    active = ActiveModel(
        registry,
        categories=DEFAULT_CATEGORIES,
        urgencies=DEFAULT_URGENCIES,
        clock=clock,
        resident=False,
    )
    assert active._model is None and active.version.startswith("default")
    registry.activate("v2", now=NOW)
    clock.advance(timedelta(seconds=31))
    assert active.directory() == state / "models" / "v2" and active.version == "v2"
    assert active._model is None
    registry.activate("v3-broken", now=NOW)
    clock.advance(timedelta(seconds=31))
    assert active.directory() == state / "models" / "v2"  # refused, as when resident
    assert any("ALERT keeping model v2" in r.getMessage() for r in caplog.records)
    model = active()  # this process must prepare a batch itself: loaded and kept
    assert model.version == "v2" and active() is model
