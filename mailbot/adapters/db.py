"""Engine creation (SQLite in WAL mode by default, any SQLAlchemy URL) and migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError

from mailbot.errors import MailbotError, TransientError

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str, *, create: bool = True) -> Engine:
    """An engine for `url`; SQLite gets WAL, full fsync and a busy timeout.

    With create=False a missing SQLite file is an error instead of a new empty database.
    """
    if url.startswith("sqlite"):
        if create:
            _ensure_sqlite_dir(url)
        elif not _sqlite_exists(url):
            raise MailbotError(f"no database at {url} (run `mailbot init` or `mailbot run` first)")
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_exists(url: str) -> bool:
    path = url.split("///", 1)[-1]
    return path == ":memory:" or Path(path).is_file()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: a committed row (an ack marked sent, a fetched UID) survives power loss, not only
    # a process crash; the cost is one fsync per commit, which batching keeps small.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # Overwritten or deleted content is zeroed, not left in free pages: the plain raw bytes
    # of a message found to hold a secret are replaced by ciphertext (adapters/archive.py).
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    try:
        command.upgrade(alembic_config(engine), "head")
    except OperationalError as exc:
        raise TransientError(f"database unavailable: {exc.orig}") from exc
