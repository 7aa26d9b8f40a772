"""Escalation on a real SQLite store with a frozen clock: the ladder, exactly once across
repeated and overlapping scans, digests in the outbox, webhooks at least once, agents."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlmodel import Session, col, select

from mailbot.adapters.store import Store
from mailbot.adapters.tables import EscalationRow, Outbox, Ticket
from mailbot.adapters.workflow import Workflow
from mailbot.clock import FrozenClock
from mailbot.core.escalation import EscalationPolicy, Step
from mailbot.core.render import Sender
from mailbot.runners.escalate import EscalationConfig, Escalator
from mailbot.testing.seed import customer_raw, seed_tickets

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)  # seeded tickets: first response due NOW + 4 h


class Hook:
    """A real HTTP endpoint on loopback that fails the first `failures` requests."""

    def __init__(self, failures: int = 0) -> None:
        self.bodies: list[dict[str, object]] = []
        self.failures = failures
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if hook.failures > 0:
                    hook.failures -= 1
                    self.send_response(503)
                else:
                    hook.bodies.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook(failures=1)
    yield h
    h.close()


def escalator(store: Store, clock: FrozenClock, url: str = "") -> Escalator:
    policy = EscalationPolicy(
        warn_fraction=0.75,
        warn_notify=("team@example.test",),
        steps=(
            Step(1, timedelta(0), ("team@example.test",)),
            Step(2, timedelta(hours=2), ("lead@example.test",), url),
        ),
    )
    config = EscalationConfig(policy, Sender("support@example.test", "Support", None))
    return Escalator(Workflow(store.engine), config, clock)


def rows(store: Store) -> list[tuple[str, str, int]]:
    with Session(store.engine) as s:
        found = s.exec(
            select(Ticket.ref, EscalationRow.target, EscalationRow.level)
            .join(Ticket, col(Ticket.id) == EscalationRow.ticket_id)
            .order_by(col(EscalationRow.id))
        ).all()
        return [(r, t, lv) for r, t, lv in found]


def digests(store: Store) -> list[Outbox]:
    with Session(store.engine) as s:
        return list(s.exec(select(Outbox).where(col(Outbox.kind).startswith("esc-"))).all())


def test_ladder_fires_each_level_once_and_digests_reach_the_right_people(
    store: Store, hook: Hook
) -> None:
    [ref] = seed_tickets(
        store, [customer_raw(1, subject="Withdrawal stuck", body="Help\nTXID 0xabc")], now=NOW
    )
    clock = FrozenClock(NOW)
    scanner = escalator(store, clock, hook.url)
    assert asyncio.run(scanner.scan()) == 0
    clock.advance(timedelta(hours=3))  # 75 % of the 4-hour window
    assert asyncio.run(scanner.scan()) == 1
    assert asyncio.run(scanner.scan()) == 0  # a repeat scan adds nothing
    clock.advance(timedelta(hours=1))
    assert asyncio.run(scanner.scan()) == 1
    clock.advance(timedelta(hours=2))
    assert asyncio.run(scanner.scan()) == 1  # level 2: the webhook's first try fails (503)
    assert hook.bodies == []
    assert rows(store) == [
        (ref, "first_response", 0),
        (ref, "first_response", 1),
        (ref, "first_response", 2),
    ]
    asyncio.run(scanner.scan())  # the next scan retries the webhook
    assert [(b["ref"], b["level"]) for b in hook.bodies] == [(ref, 2)]
    asyncio.run(scanner.scan())
    assert len(hook.bodies) == 1  # delivered once it succeeded

    sent = [
        (o.recipients, message_from_bytes(o.raw, policy=policy.default)) for o in digests(store)
    ]
    assert [to for to, _ in sent] == ["team@example.test", "team@example.test", "lead@example.test"]
    last = sent[-1][1]
    assert f"[{ref}]" in str(last["Subject"]) and "L2" in str(last["Subject"])
    body = last.get_body(preferencelist=("plain",)).get_content()
    assert "overdue by 2 h 00 min" in body and "> Help" in body and "TXID 0xabc" in body
    assert last["Auto-Submitted"] == "auto-generated"


def test_overlapping_scanners_record_each_event_once(store: Store) -> None:
    seed_tickets(store, [customer_raw(n) for n in range(40)], now=NOW)
    clock = FrozenClock(NOW + timedelta(hours=9))
    scanners = [escalator(store, clock) for _ in range(3)]

    async def together() -> list[int]:
        return list(await asyncio.gather(*(s.scan() for s in scanners)))

    counts = asyncio.run(together())
    # 40 tickets x (level 1 + level 2 of the first response); the warning is past its breach.
    assert sum(counts) == 80
    assert len(rows(store)) == 80 and len(set(rows(store))) == 80
    assert len(digests(store)) == 80


def test_agent_reply_stops_the_chain_close_and_reopen(store: Store) -> None:
    [ref] = seed_tickets(store, [customer_raw(1)], now=NOW)
    clock = FrozenClock(NOW + timedelta(hours=1))
    workflow = Workflow(store.engine)
    scanner = escalator(store, clock)
    workflow.respond(ref, now=clock.now())
    clock.advance(timedelta(hours=10))
    asyncio.run(scanner.scan())
    assert rows(store) == []  # answered in time: no first-response escalation
    workflow.assign(ref, "mina", now=clock.now())
    clock.advance(timedelta(hours=7))  # 75 % of the 24-hour resolution window
    asyncio.run(scanner.scan())
    assert rows(store) == [(ref, "resolution", 0)]
    clock.advance(timedelta(hours=7))  # past the resolution due time
    asyncio.run(scanner.scan())
    assert rows(store)[1:] == [(ref, "resolution", 1)]
    workflow.close(ref, now=clock.now())
    clock.advance(timedelta(days=3))
    asyncio.run(scanner.scan())
    assert len(rows(store)) == 2
    reopened = workflow.reopen(ref, now=clock.now())
    assert reopened.status == "open" and reopened.assignee == "mina"
    asyncio.run(scanner.scan())
    assert rows(store)[-1] == (ref, "resolution", 2)
