"""Versioned classifiers: new ones under state_dir/models/<version>/, the shipped default under
models/default, and which one is active recorded in the database (model_activation)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from mailbot.adapters.modelstore import Model, ModelMetadata, load_model, read_metadata
from mailbot.adapters.store import Store, translate_db_errors
from mailbot.adapters.tables import AuditEvent, ModelActivation
from mailbot.clock import Clock
from mailbot.errors import ModelError, TransientError

log = logging.getLogger(__name__)

DEFAULT_VERSION = "default"


@dataclass(frozen=True)
class ModelEntry:
    version: str
    path: Path
    metadata: ModelMetadata | None  # None when metadata.json is missing or broken


class ModelRegistry:
    def __init__(self, store: Store, *, shipped_dir: Path, state_dir: Path) -> None:
        self._engine = store.engine
        self.shipped = shipped_dir / "default"
        self.trained_root = state_dir / "models"

    def entries(self) -> list[ModelEntry]:
        """The shipped default, then trained versions by name (they sort by time)."""
        dirs = [self.shipped]
        if self.trained_root.is_dir():
            dirs += sorted(p for p in self.trained_root.iterdir() if p.is_dir())
        return [ModelEntry(_version_of(d, self.shipped), d, _metadata_or_none(d)) for d in dirs]

    def find(self, version: str) -> ModelEntry:
        for entry in self.entries():
            if entry.version == version:
                return entry
        raise ModelError(f"no model version {version!r} (see `mailbot models list`)")

    def active(self) -> tuple[str, Path]:
        """The active (version, directory); the shipped default until one is promoted."""
        with translate_db_errors(), Session(self._engine) as s:
            row = s.exec(select(ModelActivation).order_by(col(ModelActivation.id).desc())).first()
        return (row.version, Path(row.path)) if row else (DEFAULT_VERSION, self.shipped)

    def activate(self, version: str, *, now: datetime, action: str = "promote") -> ModelEntry:
        entry = self.find(version)
        if entry.metadata is None:
            raise ModelError(f"model {version} has no readable metadata.json; not activating it")
        with translate_db_errors(), Session(self._engine) as s:
            s.add(
                ModelActivation(
                    version=entry.version, path=str(entry.path), action=action, activated_at=now
                )
            )
            s.commit()
        return entry

    def record_gate(self, version: str, decision: Mapping[str, Any], *, now: datetime) -> None:
        """Keep the automatic promotion gate's figures and verdict in the audit log, whether
        or not the model was promoted (a promotion also adds its model_activation row)."""
        with translate_db_errors(), Session(self._engine) as s:
            s.add(
                AuditEvent(
                    at=now,
                    kind="model_gate",
                    detail=json.dumps({"version": version} | dict(decision), sort_keys=True),
                )
            )
            s.commit()

    def gate_history(self) -> list[dict[str, Any]]:
        """Every recorded gate decision, oldest first."""
        with translate_db_errors(), Session(self._engine) as s:
            rows = s.exec(
                select(AuditEvent)
                .where(AuditEvent.kind == "model_gate")
                .order_by(col(AuditEvent.id))
            ).all()
        return [json.loads(row.detail) | {"at": row.at.isoformat()} for row in rows]

    def rollback(self, *, now: datetime) -> ModelEntry:
        """Activate the version that was active before the current one was promoted."""
        stack = self._promotion_stack()
        if len(stack) < 2:
            raise ModelError("nothing to roll back to: the shipped default is active")
        return self.activate(stack[-2], now=now, action="rollback")

    def _promotion_stack(self) -> list[str]:
        """Replay the history: a promotion pushes its version, a rollback pops one."""
        with translate_db_errors(), Session(self._engine) as s:
            rows = s.exec(select(ModelActivation).order_by(col(ModelActivation.id))).all()
        stack = [DEFAULT_VERSION]
        for row in rows:
            if row.action == "rollback" and len(stack) > 1:
                stack.pop()
            elif row.action != "rollback":  # "promote" or "auto-promote" (by the gate)
                stack.append(row.version)
        return stack


def _version_of(directory: Path, shipped: Path) -> str:
    return DEFAULT_VERSION if directory == shipped else directory.name


def _metadata_or_none(directory: Path) -> ModelMetadata | None:
    try:
        return read_metadata(directory)
    except ModelError:
        return None


class ActiveModel:
    """The model the daemon classifies with; follows promotions without a restart.

    The database pointer is read at most every `check_every`; a model that fails to load is
    logged and the previous one kept, so a bad promotion never takes the daemon down.

    With `resident=False` (the prepare worker classifies, and holds its own copy) a model is
    loaded only to check it, and freed again; calling the instance loads it for good, for the
    batches this process prepares itself (the worker failed).
    """

    def __init__(
        self,
        registry: ModelRegistry,
        *,
        categories: Sequence[str],
        urgencies: Sequence[str],
        clock: Clock,
        check_every: timedelta = timedelta(seconds=30),
        resident: bool = True,
    ) -> None:
        self._registry = registry
        self._taxonomy = (list(categories), list(urgencies))
        self._clock = clock
        self._check_every = check_every
        self._resident = resident
        self._model: Model | None = None
        version, path = registry.active()
        try:
            self._use(self._load(path), path)
        except ModelError as exc:
            log.error(
                "ALERT active model %s unusable (%s); using the shipped default", version, exc
            )
            self._use(self._load(registry.shipped), registry.shipped)
        self._checked = clock.now()

    def __call__(self) -> Model:
        self._maybe_follow()
        if self._model is None:
            self._resident = True  # needed here from now on: keep it
            try:
                self._model = self._load(self._path)
            except ModelError as exc:  # it was fine when checked; deleted or damaged since
                log.error(
                    "ALERT model %s unusable (%s); using the shipped default", self.version, exc
                )
                self._use(self._load(self._registry.shipped), self._registry.shipped)
                assert self._model is not None
        return self._model

    @property
    def version(self) -> str:
        """The version in use, without loading it."""
        return self._version

    def directory(self) -> Path:
        """Where the model now in use was loaded from (after following the pointer)."""
        self._maybe_follow()
        return self._path

    def _maybe_follow(self) -> None:
        now = self._clock.now()
        if now - self._checked >= self._check_every:
            self._checked = now
            self._follow_pointer()

    def _follow_pointer(self) -> None:
        try:
            version, path = self._registry.active()
            if version == self._version or path == self._path:
                return
            model = self._load(path)
        except (ModelError, TransientError) as exc:
            log.error("ALERT keeping model %s: %s", self._version, exc)
            return
        log.warning("classifier model %s -> %s", self._version, model.version)
        self._use(model, path)

    def _use(self, model: Model, path: Path) -> None:
        self._path, self._version = path, model.version
        self._model = model if self._resident else None

    def _load(self, path: Path) -> Model:
        return load_model(path, categories=self._taxonomy[0], urgencies=self._taxonomy[1])
