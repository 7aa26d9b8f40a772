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

import logging
import os
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

log = logging.getLogger(__name__)


class SentJournal:
    """`<database>-sent`: lines of "<outbox id> <ISO time of the 250>"."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def record(self, outbox_id: int, at: datetime) -> None:
        """Appended and on disk when this returns (raises OSError when it cannot be)."""
        fd = self._open()
        os.write(fd, f"{outbox_id} {at.isoformat()}\n".encode("ascii"))
        os.fdatasync(fd)

    def read(self) -> dict[int, datetime]:
        """What the file holds. A last line cut short by a crash is left out: its message
        may have been accepted, and it is sent again (the window, as without this file)."""
        try:
            text = self.path.read_bytes().decode("ascii", "replace")
        except FileNotFoundError:
            return {}
        found: dict[int, datetime] = {}
        for number, line in enumerate(text.splitlines(keepends=True), 1):
            try:
                if not line.endswith("\n"):
                    raise ValueError("cut short")
                outbox_id, at = line.split()
                found[int(outbox_id)] = datetime.fromisoformat(at)
            except ValueError as exc:
                log.warning("%s:%d ignored (%s): %r", self.path, number, exc, line[:80])
        return found

    def clear(self) -> None:
        """Everything in it is committed to the database: start again empty."""
        os.ftruncate(self._open(), 0)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _open(self) -> int:
        if self._fd is None:
            new = not self.path.exists()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            if new:  # the file's name must survive a power loss too
                directory = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(directory)
                finally:
                    os.close(directory)
        return self._fd


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
