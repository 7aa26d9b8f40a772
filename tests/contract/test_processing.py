"""The processing stage on a real SQLite store: threading, re-opening, bounces, noise."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from types import MappingProxyType

from sqlmodel import Session, select

from mailbot.adapters.store import Store
from mailbot.adapters.tables import EscalationRow, InboxMessage, Outbox, Ticket, TicketMessage
from mailbot.adapters.templates import FileTemplates
from mailbot.adapters.workflow import Workflow
from mailbot.clock import FrozenClock
from mailbot.core.classify import ClassifyPolicy
from mailbot.core.escalation import EscalationPolicy, Step
from mailbot.core.parse import message_id_of
from mailbot.core.render import Sender
from mailbot.core.sla import ALWAYS_OPEN, SlaPolicy, Windows
from mailbot.domain import FetchedMail
from mailbot.resources import shipped
from mailbot.runners.escalate import EscalationConfig, Escalator
from mailbot.runners.process import FIRST_BATCH, ProcessConfig, Processor

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
WINDOWS = {"critical": 1.0, "high": 4.0, "normal": 24.0, "low": 72.0}


class FixedModel:
    """A stand-in classifier: this file tests threading and storage, not the model."""

    version = "fixed"
    thresholds: Mapping[str, Mapping[str, float]] = MappingProxyType({})

    def predict(self, text: str) -> tuple[Mapping[str, float], Mapping[str, float]]:
        return {"trading": 0.9, "technical": 0.1}, {"high": 0.8, "normal": 0.2}

    def explain(
        self, text: str, labels: Mapping[str, str], k: int = 5
    ) -> Mapping[str, Sequence[str]]:
        return {}


def processor(store: Store, clock: FrozenClock, **overrides: object) -> Processor:
    config = ProcessConfig(
        sender=Sender("support@example.test", "Support", None),
        own_addresses=("support@example.test",),
        sla=SlaPolicy(Windows(WINDOWS, WINDOWS), ALWAYS_OPEN),
        classify_policy=ClassifyPolicy(("en",), "en"),
        ref_prefix="MB",
    )
    config = dataclasses.replace(config, **overrides)  # type: ignore[arg-type]
    return Processor(
        store,
        model=FixedModel,
        detect_language=lambda _t: "en",
        renderer=FileTemplates(shipped("templates"), default_language="en"),
        config=config,
        clock=clock,
    )


uid = iter(range(1, 10_000))


def deliver(store: Store, proc: Processor, raw: bytes, clock: FrozenClock) -> None:
    mail = FetchedMail("a", "INBOX", 1, next(uid), raw)
    store.store_fetched("a", "INBOX", 1, [mail], [message_id_of(raw)], now=clock.now())
    asyncio.run(proc.process_pending())


def customer(subject: str, mid: str, body: str = "My order is stuck.", extra: str = "") -> bytes:
    return (
        f"From: Jane <jane@customer.test>\r\nSubject: {subject}\r\nMessage-ID: {mid}\r\n"
        f"{extra}\r\n{body}\r\n"
    ).encode()


def kinds(store: Store) -> list[tuple[int, str, str]]:
    with Session(store.engine) as s:
        rows = s.exec(select(TicketMessage).where(TicketMessage.direction == "in")).all()
        return [(r.ticket_id, r.kind, r.new_text) for r in rows]


def test_same_subject_within_the_window_joins_and_reopens_the_ticket(store: Store) -> None:
    clock = FrozenClock(START)
    proc = processor(store, clock)
    deliver(store, proc, customer("Order stuck", "<m1@x>"), clock)
    with Session(store.engine) as s:
        ticket = s.exec(select(Ticket)).one()
        ticket.status = "resolved"
        s.add(ticket)
        s.commit()
    clock.advance(timedelta(hours=2))
    reply = "Still stuck!\r\n\r\nOn Sun, Nov 22, 2026 at 9:00 AM Support wrote:\r\n> old text"
    deliver(store, proc, customer("RE: Order stuck", "<m2@x>", body=reply), clock)
    clock.advance(timedelta(days=30))  # outside the window: a new ticket
    deliver(store, proc, customer("Re: Order stuck", "<m3@x>"), clock)
    assert [(t, k) for t, k, _ in kinds(store)] == [
        (1, "customer"),
        (1, "follow_up"),
        (2, "customer"),
    ]
    assert kinds(store)[1][2] == "Still stuck!"  # the new text, without the quote
    with Session(store.engine) as s:
        assert s.get(Ticket, 1).status == "open"  # type: ignore[union-attr]


def test_a_bounce_of_our_ack_joins_the_ticket_without_reopening_or_reply(store: Store) -> None:
    clock = FrozenClock(START)
    proc = processor(store, clock)
    deliver(store, proc, customer("Order stuck", "<m1@x>"), clock)
    ack_id = store.due_outbox(clock.now(), 10)[0].message_id
    with Session(store.engine) as s:  # resolved: a bounce must not re-open it
        ticket = s.exec(select(Ticket)).one()
        ticket.status = "resolved"
        s.add(ticket)
        s.commit()
    bounce = (
        "From: MAILER-DAEMON@mx.example.test\r\nTo: support@example.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-1@mx>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;"
        " boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        "Final-Recipient: rfc822; jane@customer.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {ack_id}\r\n"
        "Subject: ack\r\n\r\n--b--\r\n"
    ).encode()
    deliver(store, proc, bounce, clock)
    assert [(t, k) for t, k, _ in kinds(store)] == [(1, "customer"), (1, "bounce")]
    assert len(store.due_outbox(clock.now() + timedelta(days=1), 10)) == 1  # only the ack
    with Session(store.engine) as s:
        assert s.get(Ticket, 1).status == "resolved"  # type: ignore[union-attr]


def test_robots_can_be_quarantined_as_noise(store: Store) -> None:
    clock = FrozenClock(START)
    proc = processor(store, clock, quarantine_noise=True)
    deliver(store, proc, customer("Newsletter", "<n1@x>", extra="List-Id: <news.x>\r\n"), clock)
    with Session(store.engine) as s:
        row = s.exec(select(InboxMessage)).one()
        assert row.status == "quarantined" and row.reason.startswith("noise: list-id")
        assert s.exec(select(Ticket)).all() == []


def test_a_customer_reopening_a_resolved_ticket_gets_a_new_promise_and_chain(
    store: Store,
) -> None:
    clock = FrozenClock(START)
    proc = processor(store, clock)
    workflow = Workflow(store.engine)
    deliver(store, proc, customer("Order stuck", "<m1@x>"), clock)
    [ack] = store.due_outbox(clock.now(), 10)
    ref = "MB-000001"
    clock.advance(timedelta(hours=1))
    workflow.respond(ref, now=clock.now())
    workflow.close(ref, now=clock.now())

    clock.advance(timedelta(days=2))  # the old promises (4 h, 4 h) are long past
    reopened_at = clock.now()
    deliver(store, proc, customer("Re: Order stuck", "<m2@x>", body="Still stuck!"), clock)
    with Session(store.engine) as s:
        ticket = s.exec(select(Ticket)).one()
    assert ticket.status == "open"
    assert ticket.promise_start == reopened_at
    assert ticket.first_response_due == reopened_at + timedelta(hours=4)  # high, 24/7
    assert ticket.resolution_due == reopened_at + timedelta(hours=4)
    assert ticket.first_response_at == START + timedelta(hours=1)  # reports keep the first

    # The customer is told, in a second acknowledgement threaded to their reply.
    second = [o for o in store.due_outbox(clock.now(), 10) if o.id != ack.id]
    assert len(second) == 1
    told = message_from_bytes(second[0].raw, policy=policy.default)
    assert "re-opened" in str(told["Subject"]) and ref in str(told["Subject"])
    assert told["In-Reply-To"] == "<m2@x>"
    assert second[0].message_id != ack.message_id

    # The first-response chain runs again, from the re-opening: warned at 75 % of 4 h...
    scanner = escalation(store, clock)
    clock.advance(timedelta(hours=2))
    asyncio.run(scanner.scan())
    assert escalations(store) == []
    clock.advance(timedelta(hours=1, minutes=1))
    asyncio.run(scanner.scan())
    assert ("first_response", 0) in escalations(store)
    # ...and an agent's answer stops it, while the resolution chain goes on.
    workflow.respond(ref, now=clock.now())
    clock.advance(timedelta(hours=2))
    asyncio.run(scanner.scan())
    assert ("first_response", 1) not in escalations(store)
    assert ("resolution", 1) in escalations(store)


def test_a_rate_limited_customer_reopening_gets_the_promise_without_an_ack(
    store: Store,
) -> None:
    clock = FrozenClock(START)
    proc = processor(store, clock, max_acks_per_hour=1)
    deliver(store, proc, customer("Order stuck", "<m1@x>"), clock)
    Workflow(store.engine).close("MB-000001", now=clock.now())
    clock.advance(timedelta(minutes=5))  # still inside the hour of the first ack
    deliver(store, proc, customer("Re: Order stuck", "<m2@x>"), clock)
    assert len(store.due_outbox(clock.now(), 10)) == 1  # only the first ack
    with Session(store.engine) as s:
        ticket = s.exec(select(Ticket)).one()
    assert ticket.status == "open" and ticket.promise_start == clock.now()


def escalation(store: Store, clock: FrozenClock) -> Escalator:
    policy = EscalationPolicy(warn_fraction=0.75, steps=(Step(1, timedelta(0)),))
    config = EscalationConfig(policy, Sender("support@example.test", "Support", None))
    return Escalator(Workflow(store.engine), config, clock)


def escalations(store: Store) -> list[tuple[str, int]]:
    with Session(store.engine) as s:
        return [(e.target, e.level) for e in s.exec(select(EscalationRow)).all()]


def test_status_by_email_answers_only_the_owner_and_is_not_a_new_request(store: Store) -> None:
    clock = FrozenClock(START)
    proc = processor(store, clock, status_answers_per_hour=2)
    deliver(store, proc, customer("Order stuck", "<m1@x>"), clock)
    [ack] = store.due_outbox(clock.now(), 10)
    clock.advance(timedelta(minutes=30))
    # A reply to the ack, in Chinese, that only asks where the case stands.
    deliver(
        store,
        proc,
        customer("Re: Order stuck", "<s1@x>", "状态", f"In-Reply-To: {ack.message_id}\r\n"),
        clock,
    )
    answers = [o for o in store.due_outbox(clock.now(), 10) if o.id != ack.id]
    assert len(answers) == 1
    answer = message_from_bytes(answers[0].raw, policy=policy.default)
    assert answer["To"] == "jane@customer.test" and answer["In-Reply-To"] == "<s1@x>"
    body = answer.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "MB-000001" in body and "with our team" in body  # the ticket is English (fixed model)
    assert "3:00" in body or "13:00" in body  # promised: received 09:00 UTC + 4 h
    with Session(store.engine) as s:
        ticket = s.exec(select(Ticket)).one()
        assert ticket.status == "open" and ticket.first_response_due == START + timedelta(hours=4)
    assert kinds(store)[-1][:2] == (1, "status_request")

    # Someone else naming the reference learns nothing: their mail is an ordinary new ticket.
    stranger = (
        b"From: eve@evil.test\r\nSubject: status MB-000001\r\nMessage-ID: <e1@x>\r\n\r\nstatus\r\n"
    )
    deliver(store, proc, stranger, clock)
    with Session(store.engine) as s:
        assert len(s.exec(select(Ticket)).all()) == 2
    sent_to_eve = [o for o in store.due_outbox(clock.now(), 10) if "eve@evil.test" in o.recipients]
    assert len(sent_to_eve) == 1 and b"MB-000002" in sent_to_eve[0].raw
    assert b"Order stuck" not in sent_to_eve[0].raw  # Jane's case: not a word of it
    assert b"jane@customer.test" not in sent_to_eve[0].raw

    # The owner naming the reference in a fresh mail is answered; past the limit, only recorded.
    for n in (2, 3):
        fresh = customer("hello", f"<s{n}@x>", "status MB-000001")
        deliver(store, proc, fresh, clock)
    with Session(store.engine) as s:
        statuses = s.exec(select(Outbox).where(Outbox.kind == "status")).all()
        requests = [k for t, k, _ in kinds(store) if k == "status_request"]
    assert len(statuses) == 2 and len(requests) == 3


def test_a_backlogs_first_acknowledgements_are_committed_after_a_small_first_batch(
    store: Store,
) -> None:
    """A first start with a backlog: the first acknowledgements must not wait until a whole
    batch (200) is parsed and classified, only the first, small one (FIRST_BATCH)."""
    clock = FrozenClock(START)
    classified: list[int] = []

    class CountingModel(FixedModel):
        def predict(self, text: str) -> tuple[Mapping[str, float], Mapping[str, float]]:
            classified.append(1)
            return super().predict(text)

    proc = processor(store, clock)
    proc._model = CountingModel  # type: ignore[assignment]
    mails = [
        FetchedMail("a", "INBOX", 1, next(uid), raw.replace(b"jane@", f"jane{i}@".encode()))
        for i, raw in enumerate(customer(f"Order {i}", f"<b{i}@x>") for i in range(300))
    ]
    store.store_fetched("a", "INBOX", 1, mails, [message_id_of(m.raw) for m in mails], now=START)
    at_first_ack: list[int] = []

    def on_ack() -> None:
        if not at_first_ack:
            at_first_ack.append(len(classified))

    assert asyncio.run(proc.process_pending(on_ack=on_ack)) == 300
    assert len(classified) == 300
    assert at_first_ack == [FIRST_BATCH]
    assert len(store.due_outbox(clock.now(), 1000)) == 300


def test_a_template_edit_is_used_from_the_next_batch_on(store: Store, tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(shipped("templates"), templates)
    clock = FrozenClock(START)
    proc = processor(store, clock)
    proc._renderer = FileTemplates(templates, default_language="en")
    deliver(store, proc, customer("Order stuck", "<e1@x>"), clock)
    notice = templates / "en" / "_security.txt.j2"
    notice.write_text("EDITED-MARKER\n" + notice.read_text("utf-8"), "utf-8")
    (templates / "en" / "trading.txt.j2").unlink()  # now "default" for trading tickets
    deliver(store, proc, customer("Order stuck again", "<e2@x>"), clock)
    first, second = (plain_text(row.raw) for row in store.due_outbox(clock.now(), 10))
    assert "EDITED-MARKER" not in first and "EDITED-MARKER" in second
    assert "about an order or position" in first  # trading.txt.j2's opening
    assert "We have received your message" in second  # default.txt.j2's


def plain_text(raw: bytes) -> str:
    msg = message_from_bytes(raw, policy=policy.default)
    part = msg.get_body(("plain",))  # type: ignore[attr-defined]
    assert part is not None
    return str(part.get_content())
