"""The mail servers go away while the real daemon works: Dovecot restarted mid-ingest, the SMTP
receiver down for 30 s. The daemon says so once, recovers by itself, loses and repeats nothing.

Cost: the Dovecot restart ~10 s; the SMTP outage ~60-70 s (30 s down, then the backoff's next
attempt, and the rows tried during the outage wait out their 30 s retry delay).
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections import Counter
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


def lines(log: Path, pattern: str) -> list[str]:
    return [
        line for line in log.read_text(errors="replace").splitlines() if re.search(pattern, line)
    ]


def restart_ending_sessions(dovecot: Dovecot) -> None:
    """Restart Dovecot the way a real stop does it (shutdown_clients = yes): the logged-in
    sessions end with the master. The harness's graceful stop leaves them running (Dovecot
    2.3's master does not end them here) and SIGKILLs them 7.5 s later.

    The sessions get SIGTERM, as the master sends them: a SIGKILL mid-command could leave a
    maildir dotlock (dovecot-uidlist.lock) behind, on which the next APPEND waits for minutes
    (seen once in a full run: the harness's APPEND after the restart timed out)."""
    restart = threading.Thread(target=dovecot.restart)
    restart.start()
    deadline = time.monotonic() + 10
    while dovecot.running:  # the master is signalled first; the new one waits for the old tree
        assert time.monotonic() < deadline
        time.sleep(0.01)
    title = f"dovecot-{dovecot.instance_name}/imap".encode()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().startswith(title):
                os.kill(int(entry.name), signal.SIGTERM)
        except (OSError, ProcessLookupError):
            continue  # gone already
    restart.join(timeout=30)
    assert dovecot.running


def test_dovecot_restarted_mid_ingest_is_logged_once_and_loses_nothing(
    tmp_path: Path, dovecot: Dovecot, smtp_receiver: SmtpReceiver
) -> None:
    config = config_for(tmp_path, dovecot, smtp_receiver)
    # One UID per batch, so the restart lands mid-fetch; a reconnect that reaches the dying
    # master's listener waits out imap.timeout before it tries again (5 s, not 30).
    config.write_text(
        config.read_text().replace(
            "poll_interval = 0.2", "poll_interval = 0.2\nfetch_batch = 1\ntimeout = 5"
        )
    )
    db, log = tmp_path / "mailbot.db", tmp_path / "daemon.log"
    before, after = 300, 20
    dovecot.append_many([customer(n) for n in range(before)])
    with daemon(config, log, dovecot.password):
        wait_until(lambda: len(lines(log, r"fetched 1 message")) >= 20, 60, "ingest", log)
        restart_ending_sessions(dovecot)  # while the 300 are fetched one UID at a time
        fetched_by_then = len(lines(log, r"fetched 1 message"))
        dovecot.append_many([customer(n) for n in range(before, before + after)])
        wait_until(lambda: settled(db, before + after), 120, "every message answered", log)

    assert fetched_by_then < before, "the restart did not happen mid-fetch"
    imap = r"IMAP support@example\.test@127\.0\.0\.1/INBOX"
    down = lines(log, imap + " unavailable, retrying with backoff")
    back = lines(log, imap + " reachable again after")
    assert len(down) == 1 and "ERROR" in down[0], down
    assert len(back) == 1, back
    assert not lines(log, "database|SMTP unavailable")
    customers = Counter(str(r[0]) for r in query(db, "SELECT customer_address FROM ticket"))
    assert sorted(customers) == sorted(f"c{n}@customer.test" for n in range(before + after))
    assert set(customers.values()) == {1}
    received = smtp_receiver.messages
    assert len(received) == before + after
    assert set(message_ids(received).values()) == {1}
    # A message stored just before the connection died, whose flag it could not set, stays
    # unflagged (stored, and not fetched again: docs/delivery.md); all else is \Seen.
    flags = dovecot.flags()
    unseen = [uid for uid, f in flags.items() if "\\Seen" not in f]
    assert len(flags) == before + after and len(unseen) <= 1, unseen


@pytest.mark.timeout(240)
def test_smtp_down_for_30_s_acknowledgements_queue_then_arrive_exactly_once(
    tmp_path: Path, dovecot: Dovecot, smtp_receiver: SmtpReceiver
) -> None:
    config = config_for(tmp_path, dovecot, smtp_receiver)
    db, log = tmp_path / "mailbot.db", tmp_path / "daemon.log"
    queued = 10
    with daemon(config, log, dovecot.password):
        dovecot.append(customer(0))
        smtp_receiver.wait_for(1, timeout=60)
        smtp_receiver.stop()
        down_at = time.monotonic()
        dovecot.append_many([customer(n) for n in range(1, 1 + queued)])
        # Processing goes on: tickets are made and their acknowledgements wait in the outbox.
        wait_until(
            lambda: scalar(db, "SELECT count(*) FROM outbox WHERE status = 'pending'") == queued,
            60,
            "the acknowledgements queued",
            log,
        )
        assert scalar(db, "SELECT count(*) FROM ticket") == 1 + queued
        time.sleep(max(0.0, 30 - (time.monotonic() - down_at)))
        assert len(smtp_receiver.messages) == 1
        smtp_receiver.start()  # same port
        wait_until(lambda: settled(db, 1 + queued), 150, "the queue drained", log)

    received = smtp_receiver.messages
    assert sorted(m.rcpt_tos[0] for m in received) == sorted(
        f"c{n}@customer.test" for n in range(1 + queued)
    )
    assert set(message_ids(received).values()) == {1}
    down = lines(log, r"SMTP unavailable, retrying with backoff")
    assert len(down) == 1 and "ERROR" in down[0] and "Connect call failed" in down[0], down
    assert len(lines(log, r"SMTP reachable again after \d+ failed attempt")) == 1
    retries = lines(log, r"outbox #\d+ <MB-\d+\.ack\.1\.\w+@example\.test>: will retry at ")
    assert retries and all("Connect call failed" in line for line in retries)
    assert len(lines(log, r"outbox #\d+ .* sent to c\d+@customer\.test")) == 1 + queued
    assert not lines(log, "database|IMAP .* unavailable")
