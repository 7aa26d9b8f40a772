"""Wiring from Settings; the daemon's tasks; clean shutdown on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from mailbot.adapters.db import make_engine, migrate
from mailbot.adapters.language import make_detector
from mailbot.adapters.modelstore import SklearnModel, active_model_dir, load_model
from mailbot.adapters.smtp import SmtpSender
from mailbot.adapters.store import Store
from mailbot.adapters.templates import FileTemplates
from mailbot.clock import Clock, SystemClock
from mailbot.core.classify import ClassifyPolicy
from mailbot.core.render import Sender
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
    ingestor: Ingestor
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
    model: SklearnModel = load_model(
        active_model_dir(settings.models_dir), categories=tax.categories, urgencies=tax.urgencies
    )
    log.info("classifier model %s loaded", model.version)
    smtp = SmtpSender(settings.smtp)
    sender = Sender(settings.smtp.from_address, settings.smtp.from_name, settings.smtp.reply_to)
    processor = Processor(
        store,
        model=lambda: model,
        detect_language=make_detector(tax.languages),
        renderer=FileTemplates(settings.templates_dir, default_language=tax.default_language),
        config=ProcessConfig(
            sender=sender,
            own_addresses=tuple({settings.smtp.from_address, settings.imap.username}),
            windows_hours=dict(settings.sla.first_response_hours),
            classify_policy=ClassifyPolicy(tuple(tax.languages), tax.default_language),
            ref_prefix=settings.tickets.ref_prefix,
        ),
        clock=clock,
    )
    return App(
        settings=settings,
        store=store,
        ingestor=Ingestor(settings.imap, settings.account, store, clock),
        processor=processor,
        outbox=OutboxSender(store, smtp, clock),
        escalator=Escalator(store, clock),
        smtp=smtp,
    )


async def run_once(app: App) -> int:
    """Everything now in the mailbox, then drain the outbox. 0 ok, 1 if something is left."""
    try:
        await app.ingestor.poll_once()
        await app.processor.process_pending()
        await app.escalator.scan()
        while True:
            sent, failed = await app.outbox.drain_once()
            if failed or not sent:
                break
    except TransientError as exc:
        log.error("%s", exc)
        return 1
    finally:
        await app.ingestor.reset()
        await app.smtp.close()
    left = await asyncio.to_thread(app.store.pending_outbox_count)
    if left:
        log.error(
            "%d acknowledgement(s) not delivered yet (%s); they stay queued",
            left,
            app.outbox.last_error or "retry scheduled",
        )
        return 1
    return 0


async def run_forever(app: App) -> int:
    """The daemon: poll, process, send, escalate until SIGTERM/SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    wake_outbox = asyncio.Event()
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
        asyncio.create_task(_ingest_loop(app, stop, wake_outbox), name="ingest"),
        asyncio.create_task(_outbox_loop(app, stop, wake_outbox), name="outbox"),
    ]
    log.info("mailbot running: %s/%s", app.settings.imap.host, app.settings.imap.folder)
    await stop.wait()
    log.info("stopping: finishing in-flight work")
    scheduler.shutdown(wait=False)
    await asyncio.gather(*tasks, return_exceptions=True)
    await app.ingestor.reset()
    await app.smtp.close()
    log.info("stopped")
    return 0


async def _ingest_loop(app: App, stop: asyncio.Event, wake_outbox: asyncio.Event) -> None:
    outage = _Outage("IMAP")
    while not stop.is_set():
        try:
            await app.ingestor.poll_once()
            if await app.processor.process_pending():
                wake_outbox.set()
            outage.ok()
            delay = app.settings.imap.poll_interval
        except TransientError as exc:
            await app.ingestor.reset()
            delay = outage.failed(str(exc))
        await _sleep_unless(stop, delay)


async def _outbox_loop(app: App, stop: asyncio.Event, wake: asyncio.Event) -> None:
    outage = _Outage("SMTP")
    while not stop.is_set():
        delay = 5.0
        try:
            sent, failed = await app.outbox.drain_once()
            if failed and app.outbox.last_error.startswith("transient"):
                delay = outage.failed(app.outbox.last_error)
            elif sent:
                outage.ok()
                continue
        except TransientError as exc:
            delay = outage.failed(str(exc))
        wake.clear()
        await _sleep_unless(stop, delay, wake)


class _Outage:
    """Says once that a server is gone and once that it is back; backs off in between."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._failures = 0

    def failed(self, error: str) -> float:
        if self._failures == 0:
            log.error("%s unavailable, retrying with backoff: %s", self._what, error)
        self._failures += 1
        return float(min(2**self._failures, 300))

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
