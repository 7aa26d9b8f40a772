"""The daemon's migration: Alembic in a child process, and not at all when up to date."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from mailbot.adapters import db
from mailbot.adapters.db import (
    SCHEMA_HEAD,
    alembic_config,
    make_engine,
    migrate_aside,
    schema_revision,
)
from mailbot.errors import MailbotError


def test_schema_head_is_alembics_head(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    assert ScriptDirectory.from_config(alembic_config(engine)).get_current_head() == SCHEMA_HEAD


def test_a_new_database_is_migrated_by_a_child_then_only_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'state' / 'mailbot.db'}")
    assert schema_revision(engine) is None
    migrate_aside(engine)
    assert schema_revision(engine) == SCHEMA_HEAD

    def no_child(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("an up-to-date database needs no child process")

    monkeypatch.setattr(db, "ProcessPoolExecutor", no_child)
    migrate_aside(engine)  # up to date: only the revision is read


def test_a_child_that_cannot_migrate_fails_the_start_clearly(tmp_path: Path) -> None:
    path = tmp_path / "mailbot.db"
    path.write_bytes(b"this is not an SQLite database" * 100)
    engine = make_engine(f"sqlite:///{path}")
    with pytest.raises(MailbotError, match="database"):
        migrate_aside(engine)


def test_without_a_child_process_the_daemon_migrates_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class NoChildren:
        def __init__(self, *_args: object, **_kwargs: object) -> None:
            raise OSError("no process slots")

    monkeypatch.setattr(db, "ProcessPoolExecutor", NoChildren)
    engine = make_engine(f"sqlite:///{tmp_path / 'mailbot.db'}")
    migrate_aside(engine)
    assert schema_revision(engine) == SCHEMA_HEAD
