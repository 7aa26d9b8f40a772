"""Two `mailbot run` instances on one PostgreSQL database and the same mailbox: one ingests,
the other stands by; SIGKILL the lease holder and the other takes over. Nothing is lost,
nothing is acknowledged twice. Real Dovecot, real SMTP receiver, real PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import text

from mailbot.adapters.db import make_engine, migrate
from mailbot.testing.postgres import Postgres
from mailbot.testing.servers import Dovecot, SmtpReceiver
from tests.conftest import write_config


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    with Postgres() as server:
        yield server


def customer(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"c{n}@customer.test"
    msg["To"] = "support@example.test"
    msg["Subject"] = f"Deposit {n} not credited"
    msg["Message-ID"] = f"<multi-{n}@customer.test>"
    msg.set_content(f"Hello, my USDT deposit number {n} has not arrived. TXID 0x{n:064x}")
    return msg.as_bytes()


def start(config: Path, log: Path, password: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as stderr:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "mailbot", "run", "--config", str(config)],
            env=os.environ | {"MAILBOT_IMAP_PASSWORD": password},
            stderr=stderr,
        )


def wait_until(condition: object, timeout: float, what: str) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_lease_holder_killed_the_other_takes_over_nothing_lost_or_repeated(
    tmp_path: Path, dovecot: Dovecot, smtp_receiver: SmtpReceiver, postgres: Postgres
) -> None:
    engine = make_engine(postgres.url)
    migrate(engine)  # once, before two instances race to do it
    procs: dict[int, subprocess.Popen[bytes]] = {}
    logs = []
    for name in ("a", "b"):
        home = tmp_path / name
        home.mkdir()
        config = write_config(home, dovecot, smtp_receiver, f'[paths]\nstate_dir = "{home}"\n')
        body = config.read_text("utf-8")
        config.write_text(
            body.replace(f'url = "sqlite:///{home / "mailbot.db"}"', f'url = "{postgres.url}"'),
            "utf-8",
        )
        logs.append(home / "stderr.log")
        proc = start(config, logs[-1], dovecot.password)
        procs[proc.pid] = proc

    def holder_pid() -> int | None:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT holder, expires_at FROM lease WHERE name LIKE 'ingest:%'")
            ).first()
        return int(row[0].split(":")[1]) if row else None

    def sent_count() -> int:
        with engine.connect() as conn:
            return int(
                conn.execute(text("SELECT count(*) FROM outbox WHERE status = 'sent'")).scalar_one()
            )

    try:
        for n in range(20):
            dovecot.append(customer(n))
        smtp_receiver.wait_for(20, timeout=60)
        # Kill only once the 20 are marked sent: a kill between a 250 and its mark is the
        # documented at-least-once window (tests/integration/test_crash_*.py measure it); this
        # test is about the takeover.
        wait_until(lambda: sent_count() == 20, 30, "the first 20 marked sent")
        first = holder_pid()
        assert first in procs
        os.kill(first, signal.SIGKILL)  # no clean release: the lease must expire
        procs.pop(first).wait(timeout=10)
        for n in range(20, 40):
            dovecot.append(customer(n))
        smtp_receiver.wait_for(40, timeout=90)
        wait_until(lambda: holder_pid() not in (None, first), 30, "the survivor's lease")
        time.sleep(2)  # anything sent twice would arrive now
        [survivor] = procs.values()
        assert survivor.poll() is None, "the surviving instance must still be running"
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        engine.dispose()
    recipients = sorted(m.rcpt_tos[0] for m in smtp_receiver.messages)
    assert recipients == sorted(f"c{n}@customer.test" for n in range(40))  # each exactly once
    check = make_engine(postgres.url)
    with check.connect() as conn:
        tickets = conn.execute(text("SELECT count(*) FROM ticket")).scalar_one()
        waiting = conn.execute(
            text("SELECT count(*) FROM inbox WHERE status <> 'processed'")
        ).scalar_one()
    check.dispose()
    assert tickets == 40 and waiting == 0
    joined = "".join(p.read_text("utf-8", errors="replace") for p in logs)
    assert "lease ingest:" in joined and "taken by" in joined
