"""The daemon's migration: a new SQLite database from the baseline schema, Alembic in a child
process for any other, and nothing at all when up to date."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from mailbot.adapters import db
from mailbot.adapters.db import (
    SCHEMA_HEAD,
    SQLITE_BASELINE,
    alembic_config,
    make_engine,
    migrate,
    migrate_aside,
    schema_revision,
    sqlite_baseline_text,
    sqlite_schema,
)
from mailbot.errors import MailbotError, TransientError


def _forbid(monkeypatch: pytest.MonkeyPatch, name: str, why: str) -> None:
    def forbidden(*_args: object, **_kwargs: object) -> None:
        raise AssertionError(why)

    monkeypatch.setattr(db, name, forbidden)


def _at_revision(path: Path, revision: str) -> None:
    engine = make_engine(f"sqlite:///{path}")
    command.upgrade(alembic_config(engine), revision)
    engine.dispose()


def _dump(path: Path) -> list[tuple[str, str, str, str | None]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
        return sorted(rows, key=lambda row: (row[0], row[1]))
    finally:
        conn.close()


def test_schema_head_is_alembics_head(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    assert ScriptDirectory.from_config(alembic_config(engine)).get_current_head() == SCHEMA_HEAD


def test_the_shipped_baseline_is_what_the_migrations_make_now() -> None:
    # Fails after a new migration until scripts/sqlite_baseline.py is run again.
    assert SQLITE_BASELINE.read_text(encoding="utf-8") == sqlite_baseline_text()


def test_a_database_from_the_baseline_equals_a_migrated_one(tmp_path: Path) -> None:
    migrated, created = tmp_path / "migrated.db", tmp_path / "created.db"
    migrate(make_engine(f"sqlite:///{migrated}"))
    migrate_aside(make_engine(f"sqlite:///{created}"))
    assert _dump(created) == _dump(migrated)  # every table, index and autoindex, same SQL
    assert sqlite_schema(str(created)) == sqlite_schema(str(migrated))
    # Alembic agrees that it is at head: upgrading again changes nothing.
    migrate(make_engine(f"sqlite:///{created}"))
    assert _dump(created) == _dump(migrated)


def test_a_new_database_needs_no_child_and_no_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _forbid(monkeypatch, "ProcessPoolExecutor", "a new SQLite database needs no child process")
    _forbid(monkeypatch, "migrate", "a new SQLite database needs no Alembic")
    engine = make_engine(f"sqlite:///{tmp_path / 'state' / 'mailbot.db'}")
    assert schema_revision(engine) is None
    migrate_aside(engine)
    assert schema_revision(engine) == SCHEMA_HEAD


def test_an_older_database_is_migrated_by_a_child_then_only_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "mailbot.db"
    _at_revision(path, "0010")
    engine = make_engine(f"sqlite:///{path}")
    # The spawned child imports its own db module; only this process's migrate is forbidden.
    _forbid(monkeypatch, "migrate", "the daemon's process must not run Alembic")
    migrate_aside(engine)
    assert schema_revision(engine) == SCHEMA_HEAD

    _forbid(monkeypatch, "ProcessPoolExecutor", "an up-to-date database needs no child process")
    migrate_aside(engine)  # up to date: only the revision is read


def test_a_database_with_other_tables_is_left_to_alembic(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE someone_elses (x INTEGER)")
    conn.commit()
    conn.close()
    migrate_aside(make_engine(f"sqlite:///{path}"))
    names = {name for (_type, name, _tbl, _sql) in _dump(path)}
    assert {"someone_elses", "ticket", "alembic_version"} <= names
    assert schema_revision(make_engine(f"sqlite:///{path}")) == SCHEMA_HEAD


def test_a_stale_baseline_is_finished_by_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shipped without re-running scripts/sqlite_baseline.py after a migration: a new
    database still ends at SCHEMA_HEAD."""
    old = tmp_path / "old.db"
    _at_revision(old, "0010")
    stale = tmp_path / "stale.sql"
    stale.write_text("".join(f"{sql};\n" for sql in sqlite_schema(str(old))), encoding="utf-8")
    monkeypatch.setattr(db, "SQLITE_BASELINE", stale)
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    migrate_aside(engine)
    assert schema_revision(engine) == SCHEMA_HEAD


def test_the_baseline_is_applied_once(tmp_path: Path) -> None:
    path = tmp_path / "mailbot.db"
    assert db._create_from_baseline(str(path)) is True
    assert db._create_from_baseline(str(path)) is False  # tables exist: not touched again
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
    conn.close()


def test_a_file_that_is_not_a_database_fails_the_start_clearly(tmp_path: Path) -> None:
    path = tmp_path / "mailbot.db"
    path.write_bytes(b"this is not an SQLite database" * 100)
    engine = make_engine(f"sqlite:///{path}")
    with pytest.raises(MailbotError, match="database"):
        migrate_aside(engine)


def test_a_child_that_cannot_migrate_fails_the_start_clearly(tmp_path: Path) -> None:
    path = tmp_path / "mailbot.db"
    _at_revision(path, "0010")
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE inbox")  # migration 0011 alters it
    conn.commit()
    conn.close()
    with pytest.raises(MailbotError, match="no such table: inbox") as raised:  # the child's
        migrate_aside(make_engine(f"sqlite:///{path}"))
    # A failed migration step is not an outage: it says so and is not worth retrying.
    assert not isinstance(raised.value, TransientError)
    assert "database migration failed" in str(raised.value)


def test_a_locked_database_is_worth_retrying_and_a_failed_step_is_not(tmp_path: Path) -> None:
    path = tmp_path / "mailbot.db"
    _at_revision(path, "0010")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.1})
        with pytest.raises(TransientError, match="database unavailable"):
            db.migrate(engine)
        engine.dispose()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE inbox")
    conn.commit()
    conn.close()
    with pytest.raises(MailbotError, match="database migration failed: no such table"):
        db.migrate(make_engine(f"sqlite:///{path}"))


def test_without_a_child_process_the_daemon_migrates_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class NoChildren:
        def __init__(self, *_args: object, **_kwargs: object) -> None:
            raise OSError("no process slots")

    monkeypatch.setattr(db, "ProcessPoolExecutor", NoChildren)
    path = tmp_path / "mailbot.db"
    _at_revision(path, "0010")
    engine = make_engine(f"sqlite:///{path}")
    migrate_aside(engine)
    assert schema_revision(engine) == SCHEMA_HEAD
