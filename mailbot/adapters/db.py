"""Engine creation (SQLite in WAL mode by default, any SQLAlchemy URL) and migrations."""

from __future__ import annotations

import logging
import multiprocessing
import sqlite3
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

# A new SQLite database gets this schema, dumped from one migrated to SCHEMA_HEAD
# (scripts/sqlite_baseline.py writes it; a test fails when it differs from the migrations').
SQLITE_BASELINE = _MIGRATIONS / "sqlite_baseline.sql"


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
        if _unavailable(exc.orig):
            raise TransientError(f"database unavailable: {exc.orig}") from exc
        raise MailbotError(f"database migration failed: {exc.orig}") from exc


# SQLite reports a migration's own failures ("no such table", "duplicate column") as
# OperationalError too; only these mean the database may work on a later try.
_SQLITE_UNAVAILABLE = ("locked", "busy", "unable to open", "disk i/o", "full")


def _unavailable(orig: BaseException | None) -> bool:
    """Whether an OperationalError means the database is unreachable or locked (retry later)
    rather than that a migration step failed. PostgreSQL drivers raise OperationalError only
    for the former; a failing statement is a ProgrammingError or an IntegrityError."""
    if not isinstance(orig, sqlite3.Error):
        return True
    message = str(orig).lower()
    return any(word in message for word in _SQLITE_UNAVAILABLE)


def migrate_aside(engine: Engine) -> None:
    """migrate(), for the daemon: a database already at SCHEMA_HEAD (every start but the
    first after an install or upgrade) is only checked; otherwise Alembic runs in a child
    process. Alembic and what it imports (Mako among others) hold ~11 MB that a process
    running for months would keep after one second of use. An in-memory database exists
    only in this process, so it is migrated here. A new, empty SQLite file gets the schema
    from SQLITE_BASELINE instead: the same tables in milliseconds, where a child process
    takes a second of a first start."""
    if schema_revision(engine) == SCHEMA_HEAD:
        return
    url = engine.url
    if (
        _new_sqlite_file(engine)
        and _create_from_baseline(str(url.database))
        and schema_revision(engine) == SCHEMA_HEAD  # else a stale baseline: Alembic goes on
    ):
        return
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


def _new_sqlite_file(engine: Engine) -> bool:
    """A file the standard sqlite3 module opens by its path: no URI options, no other driver
    (an encrypting one, say), which the baseline's own connection would not honour."""
    url = engine.url
    return (
        url.drivername in ("sqlite", "sqlite+pysqlite")
        and not url.query
        and url.database not in (None, "", ":memory:")
    )


def _create_from_baseline(path: str) -> bool:
    """The baseline schema in one transaction, if the database at `path` has no tables;
    False (nothing done) if it has any: Alembic then brings it up to date."""
    statements = _split_statements(SQLITE_BASELINE.read_text(encoding="utf-8"))
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)  # transactions by hand
    try:
        conn.execute("BEGIN IMMEDIATE")  # a second process starting now waits, then sees tables
        if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            conn.execute("ROLLBACK")
            return False
        for statement in statements:
            conn.execute(statement)
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise _database_error(exc) from exc
    finally:
        conn.close()
    log.info("schema %s created from the SQLite baseline", SCHEMA_HEAD)
    return True


def _split_statements(script: str) -> list[str]:
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        raise MailbotError(f"{SQLITE_BASELINE}: incomplete statement at the end")
    return statements


def _database_error(exc: sqlite3.Error) -> MailbotError:
    if isinstance(exc, sqlite3.OperationalError) and _unavailable(exc):
        return TransientError(f"database unavailable: {exc}")
    return MailbotError(f"database schema could not be created: {exc}")


def sqlite_schema(path: str) -> list[str]:
    """The statements that recreate the schema of the SQLite database at `path`, its Alembic
    revision included, in the order SQLite created them (scripts/sqlite_baseline.py)."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            # Tables before what depends on them, each kind in the order it was created.
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type != 'table', rowid"
        ).fetchall()
        revisions = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    finally:
        conn.close()
    insert = "INSERT INTO alembic_version (version_num) VALUES ('{}')"
    inserts = [insert.format(revision) for (revision,) in revisions]
    return [sql for (sql,) in rows] + inserts


def sqlite_baseline_text() -> str:
    """SQLITE_BASELINE's content as the migrations make it now (scripts/sqlite_baseline.py)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "baseline.db")
        engine = make_engine(f"sqlite:///{path}")
        migrate(engine)
        engine.dispose()
        statements = sqlite_schema(path)
    header = "-- Written by scripts/sqlite_baseline.py from the migrations; do not edit.\n"
    return header + "".join(f"{statement};\n\n" for statement in statements)


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
