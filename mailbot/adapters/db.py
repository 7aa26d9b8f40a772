"""Engine creation (SQLite in WAL mode by default, any SQLAlchemy URL) and migrations."""

from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from mailbot.errors import MailbotError, TransientError

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# The newest migration under migrations/versions (a test checks it against Alembic's head).
SCHEMA_HEAD = "0011"


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
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    from alembic import command

    try:
        command.upgrade(alembic_config(engine), "head")
    except OperationalError as exc:
        raise TransientError(f"database unavailable: {exc.orig}") from exc


def migrate_aside(engine: Engine) -> None:
    """migrate(), for the daemon: a database already at SCHEMA_HEAD (every start but the
    first after an install or upgrade) is only checked; otherwise Alembic runs in a child
    process. Alembic and what it imports (Mako among others) hold ~11 MB that a process
    running for months would keep after one second of use. An in-memory database exists
    only in this process, so it is migrated here."""
    if schema_revision(engine) == SCHEMA_HEAD:
        return
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        migrate(engine)
        return
    spawn = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as child:
            # The URL, password included, goes through the pool's pipe, not the command line.
            full_url = url.render_as_string(hide_password=False)
            problem = child.submit(_migrate_url, full_url).result()
    except (BrokenProcessPool, OSError) as exc:  # no child process here: migrate in this one
        log.warning("migration child unavailable (%s); migrating in the daemon's process", exc)
        migrate(engine)
        return
    if problem is not None:
        transient, message = problem
        raise (TransientError if transient else MailbotError)(message)


def schema_revision(engine: Engine) -> str | None:
    """The database's Alembic revision; None for a new database (or one Alembic never saw)."""
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except OperationalError as exc:
        if "alembic_version" in str(exc.orig):  # SQLite: no such table
            return None
        raise TransientError(f"database unavailable: {exc.orig}") from exc
    except SQLAlchemyError:  # PostgreSQL: relation does not exist (ProgrammingError)
        return None


def _migrate_url(url: str) -> tuple[bool, str] | None:
    """In the child: None when migrated, else (transient?, what went wrong)."""
    engine = make_engine(url)
    try:
        migrate(engine)
    except TransientError as exc:
        return True, str(exc)
    except Exception as exc:  # reported in the parent, which fails its start with it
        return False, f"database migration failed: {type(exc).__name__}: {exc}"
    finally:
        engine.dispose()
    return None
