"""Acknowledgements the SMTP server accepted, recorded the moment its 250 arrives.

On SQLite, marking an outbox row sent waits for the database's one write lock, which the
processing thread holds for up to TRANSACTION_SECONDS at a time: while a backlog was being
processed, the sender spent most of its time waiting there, one message at a time (the
next final dot may not go before the last outcome is recorded; docs/delivery.md). This file
records the same fact without that wait: one line appended and flushed to disk (fdatasync)
per message. The sender folds the lines into the outbox table in one transaction at the
start of its next drain, before it claims anything, and then empties the file; a process
that starts reads the file first. So a row in the file is never sent again, and the window
in which a crash duplicates a message is again only from the 250 to the flush.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

log = logging.getLogger(__name__)


class SentJournal:
    """`<database>-sent`: lines of "<outbox id> <ISO time of the 250>".

    One process at a time uses it (`acquire`, an flock held until `close` or the process
    ends): two daemons on one SQLite file (different state directories) must not empty each
    other's lines. The one without it records in the database, and frees no other claimer's
    rows until it holds the journal and has committed what the other left there."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._size = 0  # of the file: a failed append is cut back to it

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        """Open and lock the file for this process; False: another process holds it."""
        if self._fd is not None:
            return True
        new = not self.path.exists()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        if new:  # the file's name must survive a power loss too
            directory = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        self._fd, self._size = fd, os.fstat(fd).st_size
        return True

    def record(self, outbox_id: int, at: datetime) -> None:
        """Appended and on disk when this returns. Raises OSError when it cannot be (not
        held, disk full, ...), with the file as it was: no part of the line stays."""
        if self._fd is None:
            raise OSError(f"{self.path} is not held by this process")
        line = f"{outbox_id} {at.isoformat()}\n".encode("ascii")
        try:
            if os.write(self._fd, line) != len(line):
                raise OSError(errno.ENOSPC, "short write")
            os.fdatasync(self._fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size)
            raise
        self._size += len(line)

    def read(self) -> dict[int, datetime]:
        """What the file holds (it must be held). A last line cut short (a crash, a power
        loss) is cut off the file, so that the next line does not run on from it, and left
        out: its message may have been accepted and is sent again (the window)."""
        if self._fd is None:
            raise OSError(f"{self.path} is not held by this process")
        data = self.path.read_bytes()
        whole = data.rfind(b"\n") + 1
        if whole < len(data):
            log.warning("%s: cut-short last line removed: %r", self.path, data[whole:][:80])
            os.ftruncate(self._fd, whole)
            os.fdatasync(self._fd)
            self._size = whole
        found: dict[int, datetime] = {}
        text = data[:whole].decode("ascii", "replace")
        for number, line in enumerate(text.splitlines(), 1):
            try:
                outbox_id, at = line.split()
                found[int(outbox_id)] = datetime.fromisoformat(at)
            except ValueError as exc:
                log.warning("%s:%d ignored (%s): %r", self.path, number, exc, line[:80])
        return found

    def clear(self) -> None:
        """Everything in it is committed to the database: start again empty."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            self._size = 0

    def close(self) -> None:
        """Let go of the file (and its lock)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def sent_journal(engine: Engine) -> SentJournal | None:
    """The journal of an SQLite database file, next to it (`<file>-sent`, like its `-wal`).
    None for PostgreSQL: its writers do not wait for each other, and other instances, on
    other hosts, claim rows too, which a file on this host could not stop from sending a
    row again."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):  # a URI filename: the path is not simply this
        return None
    return SentJournal(Path(database).with_name(Path(database).name + "-sent"))
