"""Wiring from Settings; the daemon's tasks; clean shutdown on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import threading
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from mailbot.adapters.db import make_engine, migrate
from mailbot.adapters.language import make_detector
from mailbot.adapters.modelregistry import ActiveModel, ModelRegistry
from mailbot.adapters.smtp import SmtpSender
from mailbot.adapters.store import Store
from mailbot.adapters.templates import FileTemplates
from mailbot.clock import Clock, SystemClock
from mailbot.core.classify import ClassifyPolicy
from mailbot.core.render import Sender
from mailbot.core.rules import compile_rule
from mailbot.errors import TransientError
from mailbot.runners.escalate import Escalator
from mailbot.runners.ingest import Ingestor
from mailbot.runners.outbox import OutboxSender
from mailbot.runners.process import ProcessConfig, Processor
from mailbot.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    store: Store
    ingestors: list[Ingestor]
    processor: Processor
    outbox: OutboxSender
    escalator: Escalator
    smtp: SmtpSender


def build(settings: Settings, clock: Clock | None = None) -> App:
    """Adapters from settings, handed to the runners. Fails early on a bad model or templates."""
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    migrate(engine)
    store = Store(engine, ref_prefix=settings.tickets.ref_prefix)
    tax = settings.taxonomy
    registry = ModelRegistry(store, shipped_dir=settings.models_dir, state_dir=settings.state_dir)
    model = ActiveModel(registry, categories=tax.categories, urgencies=tax.urgencies, clock=clock)
    log.info("classifier model %s loaded", model().version)
    smtp = SmtpSender(settings.smtp)
    mailboxes = settings.effective_mailboxes()
    sender = Sender(settings.smtp.from_address, settings.smtp.from_name, settings.smtp.reply_to)
    processor = Processor(
        store,
        model=model,
        detect_language=make_detector(tax.languages),
        renderer=FileTemplates(settings.templates_dir, default_language=tax.default_language),
        config=ProcessConfig(
            sender=sender,
            own_addresses=tuple({settings.smtp.from_address, *(box.username for box in mailboxes)}),
            windows_hours=dict(settings.sla.first_response_hours),
            mailbox_windows={
                (box.account, box.folder): dict(box.first_response_hours)
                for box in mailboxes
                if box.first_response_hours
            },
            classify_policy=ClassifyPolicy(
                tuple(tax.languages),
                tax.default_language,
                rules=tuple(
                    compile_rule(r.name, r.urgency, r.patterns)
                    for r in settings.classifier.urgency_rules
                ),
                urgencies=tuple(tax.urgencies),
            ),
            ref_prefix=settings.tickets.ref_prefix,
            triage_threshold=settings.classifier.triage_threshold,
            max_acks_per_hour=settings.replies.max_acks_per_sender_per_hour,
            same_subject_window_hours=settings.tickets.same_subject_window_hours,
            quarantine_noise=settings.replies.robots == "quarantine",
            max_bytes=settings.tickets.max_message_bytes,
        ),
        clock=clock,
    )
    return App(
        settings=settings,
        store=store,
        ingestors=[Ingestor(box, store, clock) for box in mailboxes],
        processor=processor,
        outbox=OutboxSender(store, smtp, clock),
        escalator=Escalator(store, clock),
        smtp=smtp,
    )


async def run_once(app: App) -> int:
    """Everything now in the mailbox, then drain the outbox. 0 ok, 1 if anything failed.

    Processing and sending run even when IMAP is down, so stored mail still gets answered.
    """
    ok = True
    for ingestor in app.ingestors:
        try:
            await ingestor.poll_once()
        except TransientError as exc:
            log.error("%s: %s", ingestor.label, exc)
            ok = False
        finally:
            await ingestor.reset()
    try:
        await app.processor.process_pending()
        await app.escalator.scan()
        ok = await _drain_all(app) and ok
    except TransientError as exc:
        log.error("%s", exc)
        ok = False
    finally:
        await app.smtp.close()
    return 0 if ok else 1


async def _drain_all(app: App) -> bool:
    """Send until nothing is due; False when anything is left undelivered or went dead."""
    dead = 0
    while True:
        result = await app.outbox.drain_once()
        dead += result.dead
        if result.blocked or not (result.sent or result.dead):
            break
    if app.outbox.unrecorded:
        log.error(
            "ALERT %d acknowledgement(s) were accepted by the SMTP server but could not be "
            "marked sent; the next run will send them again",
            app.outbox.unrecorded,
        )
    left = await asyncio.to_thread(app.store.pending_outbox_count)
    if left:
        log.error("%d acknowledgement(s) not delivered yet; they stay queued", left)
    if dead:
        log.error("%d acknowledgement(s) refused permanently (dead)", dead)
    return not left and not dead


async def run_forever(app: App) -> int:
    """The daemon: ingest, process, send, escalate until SIGTERM/SIGINT.

    Returns 0 after a clean stop, 1 when a loop died of an unexpected error (so systemd's
    Restart=on-failure starts a fresh process).
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    wakes = _Wakes(loop)
    scheduler = AsyncIOScheduler()
    scheduler.add_job(
        app.escalator.scan,
        "interval",
        seconds=app.settings.escalation.check_interval,
        max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    tasks = [
        *(
            asyncio.create_task(
                _ingest_loop(ingestor, stop, wakes), name=f"ingest {ingestor.label}"
            )
            for ingestor in app.ingestors
        ),
        asyncio.create_task(_process_loop(app, stop, wakes), name="process"),
        asyncio.create_task(_outbox_loop(app, stop, wakes), name="outbox"),
    ]
    log.info("mailbot running: %s", ", ".join(i.label for i in app.ingestors))
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    crashed = [t for t in tasks if t in done]
    for task in crashed:
        log.error("ALERT the %s loop died: %r", task.get_name(), task.exception())
    log.info("stopping: finishing in-flight work")
    stop.set()
    wakes.stop_processing.set()
    scheduler.shutdown(wait=False)
    await asyncio.gather(*tasks, return_exceptions=True)
    for ingestor in app.ingestors:
        await ingestor.reset()
    await app.smtp.close()
    log.info("stopped")
    return 1 if crashed else 0


class _Wakes:
    """Events that let one loop start another at once instead of at its next tick."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.process = asyncio.Event()
        self.outbox = asyncio.Event()
        self.stop_processing = threading.Event()  # seen by the processing worker thread
        self._loop = loop

    def outbox_from_thread(self) -> None:
        self._loop.call_soon_threadsafe(self.outbox.set)


async def _ingest_loop(ingestor: Ingestor, stop: asyncio.Event, wakes: _Wakes) -> None:
    outage = _Outage(f"IMAP {ingestor.label}")
    while not stop.is_set():
        try:
            if await ingestor.poll_once():
                wakes.process.set()
            await ingestor.wait_for_news(stop)
            outage.ok()  # only when the wait worked too: a failing IDLE is an outage
        except TransientError as exc:
            await ingestor.reset()
            await _sleep_unless(stop, outage.failed(str(exc)))
        except Exception as exc:  # per iteration: never let one surprise end intake for good
            log.exception("ingest of %s failed unexpectedly", ingestor.label)
            await ingestor.reset()
            await _sleep_unless(stop, outage.failed(repr(exc)))


async def _process_loop(app: App, stop: asyncio.Event, wakes: _Wakes) -> None:
    outage = _Outage("processing (database)")
    delay = 0.0
    while not stop.is_set():
        await _sleep_unless(stop, delay, wakes.process)
        wakes.process.clear()
        try:
            await app.processor.process_pending(wakes.stop_processing, wakes.outbox_from_thread)
            outage.ok()
            delay = 5.0  # also picks up rows left by a previous run or a retry
        except Exception as exc:  # TransientError (database) or a surprise: back off
            if not isinstance(exc, TransientError):
                log.exception("processing failed unexpectedly")
            delay = outage.failed(str(exc))


async def _outbox_loop(app: App, stop: asyncio.Event, wakes: _Wakes) -> None:
    outage = _Outage("SMTP")
    while not stop.is_set():
        wakes.outbox.clear()  # before draining, so a wake-up during the drain is kept
        delay = 5.0
        try:
            result = await app.outbox.drain_once()
            if result.blocked:
                delay = outage.failed(result.error)
            elif result.sent or result.dead:
                outage.ok()
                continue
        except Exception as exc:
            log.exception("outbox failed unexpectedly")
            delay = outage.failed(repr(exc))
        await _sleep_unless(stop, delay, wakes.outbox)


class _Outage:
    """Says once that a server is gone and once that it is back; backs off in between."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._failures = 0

    def failed(self, error: str) -> float:
        if self._failures == 0:
            log.error("%s unavailable, retrying with backoff: %s", self._what, error)
        self._failures += 1
        # Exponential backoff with jitter, so mailboxes on one server do not retry in lock-step.
        return min(2.0**self._failures, 300.0) * random.uniform(0.5, 1.0)

    def ok(self) -> None:
        if self._failures:
            log.warning("%s reachable again after %d failed attempt(s)", self._what, self._failures)
        self._failures = 0


async def _sleep_unless(
    stop: asyncio.Event, seconds: float, wake: asyncio.Event | None = None
) -> None:
    waiters = [asyncio.create_task(stop.wait())]
    if wake is not None:
        waiters.append(asyncio.create_task(wake.wait()))
    _done, pending = await asyncio.wait(
        waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
    )
    for task in pending:
        task.cancel()
