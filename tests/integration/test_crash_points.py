"""Fixed crash points (mailbot.testing.crash): the real daemon SIGKILLs itself at a named point,
is restarted normally, and the database, the server flags and the SMTP receiver show what the
crash left. Only the crash after the SMTP 250 may duplicate, and only that one message.

Cost: ~10 s per test (two daemon starts each).
"""

from __future__ import annotations

import functools
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from mailbot.adapters.db import make_engine, migrate
from mailbot.adapters.store import Store
from mailbot.runners.leases import holder_gone, instance_name
from mailbot.testing.seed import customer_raw, seed_tickets
from mailbot.testing.servers import Dovecot, ReceivedMail, SmtpReceiver
from tests.conftest import write_config

CRASH_ENV = "MAILBOT_TEST_CRASH_AT"


def customer(n: int, tag: str = "crash") -> bytes:
    msg = EmailMessage()
    msg["From"] = f"c{n}@customer.test"
    msg["To"] = "support@example.test"
    msg["Subject"] = f"Deposit {n} not credited"
    msg["Message-ID"] = f"<{tag}-{n}@customer.test>"
    msg.set_content(f"My USDT deposit number {n} has not arrived yet. TXID 0x{n:064x}")
    return msg.as_bytes()


def config_for(directory: Path, dovecot: Dovecot, smtp: SmtpReceiver, extra: str = "") -> Path:
    """write_config plus the state directory next to it (the run lock lives there)."""
    return write_config(directory, dovecot, smtp, f'[paths]\nstate_dir = "{directory}"\n{extra}')


def start(config: Path, log: Path, password: str, **env: str) -> subprocess.Popen[bytes]:
    """`mailbot run` with stderr appended to `log`; `env` is added to a clean test env."""
    base = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    with log.open("ab") as sink:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "mailbot", "run", "--config", str(config)],
            env=base | {"MAILBOT_IMAP_PASSWORD": password} | env,
            stderr=sink,
        )


def stop(proc: subprocess.Popen[bytes], log: Path) -> None:
    """SIGTERM, which must end a healthy daemon with exit code 0 (else it is killed)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()  # never leave a hung daemon behind
        proc.wait()
        raise AssertionError("the daemon ignored SIGTERM for 30 s") from None
    assert proc.returncode == 0, log.read_text(errors="replace")[-3000:]


@contextmanager
def daemon(config: Path, log: Path, password: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = start(config, log, password)
    try:
        yield proc
    finally:
        stop(proc, log)


def wait_until(condition: Callable[[], bool], timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise AssertionError(f"timed out waiting for {what}\n{tail}")
        time.sleep(0.1)


def query(db: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db, timeout=60)) as conn:
        return list(conn.execute(sql, args).fetchall())


def scalar(db: Path, sql: str, *args: object) -> int:
    return int(query(db, sql, *args)[0][0])


def settled(db: Path, expected_inbox: int) -> bool:
    """Every expected message is archived and finished, and nothing is left to send.

    Once every outbox row is 'sent', nothing can be sent again: the receiver's count is final.
    """
    if not db.exists():
        return False
    try:
        return bool(
            query(
                db,
                "SELECT (SELECT count(*) FROM inbox) = ? AND"
                " (SELECT count(*) FROM inbox WHERE status = 'received') = 0 AND"
                " (SELECT count(*) FROM outbox WHERE status <> 'sent') = 0",
                expected_inbox,
            )[0][0]
        )
    except sqlite3.OperationalError:  # not migrated yet
        return False


def message_ids(mails: list[ReceivedMail]) -> Counter[str]:
    return Counter(
        str(message_from_bytes(m.data, policy=policy.default)["Message-ID"]) for m in mails
    )


def crash_run(config: Path, log: Path, password: str, point: str) -> None:
    """Run the daemon armed with a crash point; it must die by SIGKILL at that point."""
    proc = start(config, log, password, **{CRASH_ENV: point})
    try:
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text(errors="replace")
    assert proc.returncode == -signal.SIGKILL, text[-3000:]
    assert f"CRASH TEST POINT {point.split(':')[0]} #" in text


def test_crash_after_inbox_commit_before_the_flag_loses_and_repeats_nothing(
    tmp_path: Path, dovecot: Dovecot, smtp_receiver: SmtpReceiver
) -> None:
    config = config_for(tmp_path, dovecot, smtp_receiver)
    config.write_text(
        config.read_text().replace("poll_interval = 0.2", "poll_interval = 0.2\nfetch_batch = 2")
    )
    db, log = tmp_path / "mailbot.db", tmp_path / "daemon.log"
    dovecot.append_many([customer(n) for n in range(5)])

    crash_run(config, log, dovecot.password, "after-inbox-commit")
    # The first batch (UIDs 1, 2) is committed; the server was never told: nothing is \Seen.
    assert query(db, "SELECT uid, status FROM inbox ORDER BY uid") == [
        (1, "received"),
        (2, "received"),
    ]
    assert all("\\Seen" not in flags for flags in dovecot.flags().values())

    with daemon(config, log, dovecot.password):
        wait_until(lambda: settled(db, 5), 60, "5 messages answered after the restart", log)
    customers = [r[0] for r in query(db, "SELECT customer_address FROM ticket ORDER BY id")]
    assert sorted(customers) == sorted(f"c{n}@customer.test" for n in range(5))
    assert scalar(db, "SELECT count(*) FROM inbox WHERE status = 'processed'") == 5
    assert scalar(db, "SELECT count(*) FROM outbox WHERE kind = 'ack' AND status = 'sent'") == 5
    assert sorted(m.rcpt_tos[0] for m in smtp_receiver.messages) == sorted(customers)
    assert set(message_ids(smtp_receiver.messages).values()) == {1}
    # What the crash leaves, as docs/delivery.md says: the stored but unflagged UIDs are not
    # fetched again (last_uid moved), so they stay unflagged; the others are flagged.
    flags = dovecot.flags()
    assert [uid for uid in sorted(flags) if "\\Seen" not in flags[uid]] == [1, 2]


def test_crash_after_smtp_250_sends_exactly_that_acknowledgement_twice(
    tmp_path: Path, dovecot: Dovecot, smtp_receiver: SmtpReceiver
) -> None:
    config = config_for(tmp_path, dovecot, smtp_receiver)
    db, log = tmp_path / "mailbot.db", tmp_path / "daemon.log"
    dovecot.append_many([customer(n) for n in range(5)])

    crash_run(config, log, dovecot.password, "after-smtp-250:2")  # the second 250
    before = smtp_receiver.messages
    assert len(before) == 2
    window = message_ids(before[-1:])  # the acknowledgement whose 250 came last
    [[window_id, _]] = window.items()
    # Accepted by the server, not recorded: still pending in the database.
    assert query(db, "SELECT status FROM outbox WHERE message_id = ?", window_id) == [("pending",)]

    with daemon(config, log, dovecot.password):
        wait_until(lambda: settled(db, 5), 60, "every acknowledgement sent after the restart", log)
    assert scalar(db, "SELECT count(*) FROM ticket") == 5
    assert scalar(db, "SELECT count(*) FROM outbox WHERE kind = 'ack' AND status = 'sent'") == 5
    received = smtp_receiver.messages
    counts = message_ids(received)
    assert len(counts) == 5
    duplicated = {mid: n for mid, n in counts.items() if n > 1}
    assert duplicated == {window_id: 2}, counts  # that one, twice; nothing else
    copies = [m for m in received if window_id in message_ids([m])]
    assert copies[0].data == copies[1].data  # the same message again: clients dedupe by ID
    per_customer = Counter(m.rcpt_tos[0] for m in received)
    assert sorted(per_customer.values()) == [1, 1, 1, 1, 2]
    assert per_customer[copies[0].rcpt_tos[0]] == 2


def test_leases_and_claims_of_an_ended_process_are_free_at_once(tmp_path: Path) -> None:
    """What makes the restarts above resume at once: a holder on this host whose process has
    ended holds nothing; a live or remote one keeps its lease and claims until they expire."""
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    store = Store(engine)
    now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    seed_tickets(store, [customer_raw(n) for n in range(3)], now=now)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    me, alive = instance_name(), f"{host}:{os.getppid()}:0"  # our parent (pytest's caller)
    ended, remote = f"{host}:{dead.pid}:0", f"elsewhere:{dead.pid}:0"
    predecessor = f"{host}:{os.getpid()}:0"  # our pid, another name: it ran here before us
    gone = functools.partial(holder_gone, me=me)
    assert [gone(h) for h in (ended, predecessor, me, alive, remote)] == [
        True,
        True,
        False,
        False,
        False,
    ]
    ttl, hold = timedelta(seconds=15), timedelta(minutes=2)
    for holder in (ended, alive, remote, me):
        assert store.acquire_lease(f"job-{holder}", holder, now=now, ttl=ttl)
    for holder in (ended, alive, remote):
        assert len(store.claim_outbox(now, 1, hold=hold, holder=holder)) == 1
    taken = [
        store.acquire_lease(f"job-{h}", me, now=now, ttl=ttl, gone=gone)
        for h in (ended, alive, remote, me)
    ]
    assert taken == [True, False, False, True]
    again = store.claim_outbox(now, 10, hold=hold, holder=me, gone=gone)
    assert [row.id for row in again] == [1]  # only the ended claimer's row
    # Our own claim is not "gone": claiming again finds nothing due.
    assert store.claim_outbox(now, 10, hold=hold, holder=me, gone=gone) == []
    engine.dispose()
