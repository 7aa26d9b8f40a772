"""The database goes away under the running daemon: locked by another connection for longer
than the busy timeout, and its disk full. The daemon must say so clearly (naming the database,
not IMAP or SMTP), keep new mail on the server unflagged, and recover by itself.

Cost: the lock ~40 s (SQLite waits 30 s, the busy timeout, before it reports a lock), the full
disk ~10 s. The full disk is a 16 MB tmpfs mounted on the state directory, so that test needs
root (it is skipped otherwise, saying why).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailbot.testing.servers import Dovecot, SmtpReceiver
from tests.integration.test_crash_points import (
    config_for,
    customer,
    daemon,
    message_ids,
    query,
    scalar,
    settled,
    wait_until,
)

DATABASE_DOWN = r"ERROR .*database \(\w+\) unavailable, retrying with backoff: database: "
DATABASE_BACK = r"WARNING .*database \(\w+\) reachable again after \d+ failed attempt"


def lines(log: Path, pattern: str) -> list[str]:
    text = log.read_text(errors="replace")
    return [line for line in text.splitlines() if re.search(pattern, line)]


def answered_exactly_once(db: Path, receiver: SmtpReceiver, total: int) -> None:
    customers = sorted(str(r[0]) for r in query(db, "SELECT customer_address FROM ticket"))
    assert customers == sorted(f"c{n}@customer.test" for n in range(total))
    received = receiver.messages
    assert sorted(m.rcpt_tos[0] for m in received) == customers
    assert set(message_ids(received).values()) == {1}


def seen(dovecot: Dovecot) -> dict[int, bool]:
    return {uid: "\\Seen" in flags for uid, flags in dovecot.flags().items()}


def test_database_locked_longer_than_the_busy_timeout_is_reported_and_survived(
    tmp_path: Path, dovecot: Dovecot, smtp_receiver: SmtpReceiver
) -> None:
    config = config_for(tmp_path, dovecot, smtp_receiver)
    db, log = tmp_path / "mailbot.db", tmp_path / "daemon.log"
    with daemon(config, log, dovecot.password):
        dovecot.append(customer(0))
        smtp_receiver.wait_for(1, timeout=60)
        with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as other:
            other.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
            dovecot.append_many([customer(n) for n in (1, 2, 3)])
            # Writers wait up to the busy timeout (30 s), then the daemon must say why.
            wait_until(lambda: bool(lines(log, DATABASE_DOWN)), 60, "the lock reported", log)
            assert seen(dovecot) == {1: True, 2: False, 3: False, 4: False}
            assert scalar(db, "SELECT count(*) FROM inbox") == 1
            other.execute("ROLLBACK")
        wait_until(lambda: settled(db, 4), 60, "the three answered after the lock", log)
        wait_until(lambda: all(seen(dovecot).values()), 30, "the three flagged", log)

    answered_exactly_once(db, smtp_receiver, 4)
    down = lines(log, DATABASE_DOWN)
    assert down and all("database is locked" in line for line in down), down
    reporters = [re.findall(r"database \((\w+)\) unavailable", line)[0] for line in down]
    assert len(reporters) == len(set(reporters)), down  # each part says it once
    assert lines(log, DATABASE_BACK)
    assert not lines(log, r"(IMAP|SMTP) .*unavailable"), "a database problem is not IMAP's/SMTP's"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs for the state directory (database, run lock)."""
    # The suite runs as root (scripts/install-system-deps.sh needs root too): a full disk is
    # made real with a small tmpfs, never faked, and never skipped.
    assert os.geteuid() == 0, "this test mounts a tmpfs: run the suite as root"
    mount = tmp_path / "state"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m,mode=0755", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"cannot mount a tmpfs here: {done.stderr.strip()}"
    try:
        yield mount
    finally:
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(directory: Path) -> Path:
    """Write zeros into `directory` until the file system is full; the filler's path."""
    filler = directory / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(bytes(1 << 16))
                out.flush()
        except OSError as exc:
            assert exc.errno == 28, exc  # ENOSPC
    assert shutil.disk_usage(directory).free < 1 << 16
    return filler


def test_disk_full_is_reported_mail_stays_on_the_server_and_it_recovers(
    small_disk: Path, tmp_path: Path, dovecot: Dovecot, smtp_receiver: SmtpReceiver
) -> None:
    config = config_for(small_disk, dovecot, smtp_receiver)
    db, log = small_disk / "mailbot.db", tmp_path / "daemon.log"
    with daemon(config, log, dovecot.password):
        dovecot.append(customer(0))
        smtp_receiver.wait_for(1, timeout=60)
        filler = fill(small_disk)
        dovecot.append_many([customer(n) for n in (1, 2, 3)])
        wait_until(lambda: bool(lines(log, DATABASE_DOWN)), 60, "the full disk reported", log)
        # Nothing could be stored, so nothing was flagged: the mail waits on the server.
        assert scalar(db, "SELECT count(*) FROM inbox") == 1
        assert seen(dovecot) == {1: True, 2: False, 3: False, 4: False}
        filler.unlink()  # space returns
        wait_until(lambda: settled(db, 4), 60, "the three answered after the disk", log)
        wait_until(lambda: all(seen(dovecot).values()), 30, "the three flagged", log)

    answered_exactly_once(db, smtp_receiver, 4)
    down = lines(log, DATABASE_DOWN)
    assert down and all("database or disk is full" in line for line in down), down
    reporters = [re.findall(r"database \((\w+)\) unavailable", line)[0] for line in down]
    assert len(reporters) == len(set(reporters)), down  # each part says it once
    assert lines(log, DATABASE_BACK)
    assert not lines(log, r"(IMAP|SMTP) .*unavailable"), "a database problem is not IMAP's/SMTP's"
