"""Wiring from Settings; the daemon's tasks; clean shutdown on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client import CollectorRegistry

from mailbot.adapters.archive import archive_from
from mailbot.adapters.db import make_engine, migrate_aside
from mailbot.adapters.knowledge import faq_index, load_articles
from mailbot.adapters.language import lazy_detector, make_detector
from mailbot.adapters.memory import limit_malloc_arenas
from mailbot.adapters.metrics import DatabaseCollector, MetricsServer, database_ok
from mailbot.adapters.modelregistry import ActiveModel, ModelRegistry
from mailbot.adapters.sentjournal import sent_journal
from mailbot.adapters.smtp import SmtpSender
from mailbot.adapters.store import Store
from mailbot.adapters.systemd import Notifier
from mailbot.adapters.templates import FileTemplates
from mailbot.adapters.workflow import Workflow
from mailbot.clock import Clock, SystemClock
from mailbot.core.classify import ClassifyPolicy
from mailbot.core.faq import FaqPolicy
from mailbot.core.render import Sender
from mailbot.core.sla import Windows
from mailbot.domain import FaqLink
from mailbot.errors import DatabaseUnavailable, MailbotError, TransientError
from mailbot.logconfig import bind, configure_from, log_context
from mailbot.runners.escalate import EscalationConfig, Escalator
from mailbot.runners.ingest import Ingestor
from mailbot.runners.leases import LeaseKeeper, holder_gone, instance_name
from mailbot.runners.outbox import OutboxSender
from mailbot.runners.prepare import Suggest, no_suggestions
from mailbot.runners.preparepool import Offload, PreparePool, WorkerSpec
from mailbot.runners.process import ProcessConfig, Processor, prepare_config
from mailbot.runners.supervise import (
    Health,
    Outage,
    check_loop,
    restart_needed,
    sleep_unless,
    status_loop,
    watchdog_loop,
)
from mailbot.settings import Settings

# A check the daemon must pass once before it tells systemd READY=1: (name, coroutine factory).
ReadyCheck = tuple[str, Callable[[], Awaitable[object]]]

log = logging.getLogger(__name__)

# How long an instance that does not hold a job's lease waits before asking again.
STANDBY_SECONDS = 5.0


@dataclass
class App:
    settings: Settings  # as built: what the connections use (a reload does not change them)
    store: Store
    ingestors: list[Ingestor]
    processor: Processor  # replaced whole on reload, between batches
    outbox: OutboxSender
    escalator: Escalator
    smtp: SmtpSender
    clock: Clock = field(default_factory=SystemClock)
    leases: LeaseKeeper | None = None  # built from store and clock when not given
    pool: PreparePool | None = None  # the worker process for the pure stages, if any

    def __post_init__(self) -> None:
        if self.leases is None:
            self.leases = LeaseKeeper(self.store, self.clock, holder=instance_name())

    @property
    def lease_keeper(self) -> LeaseKeeper:
        assert self.leases is not None
        return self.leases


def build(
    settings: Settings,
    clock: Clock | None = None,
    *,
    worker: bool = True,
    pool: PreparePool | None = None,
) -> App:
    """Adapters from settings, handed to the runners. Fails early on a bad model or templates.

    `worker=False` prepares every batch in this process whatever `processing.workers` says
    (`run --once`: one pass is over before a worker would have started). `pool`: one already
    started by the caller (`mailbot run` spawns the worker before its own imports)."""
    limit_malloc_arenas()  # before the runners' threads exist
    clock = clock or SystemClock()
    if pool is None and worker:
        pool = PreparePool(min_batch=settings.processing.worker_min_batch)
    if pool is not None and settings.processing.workers:
        # Its imports (~1.5 s) overlap the database and the model check below.
        pool.start(worker_spec(settings, process_config(settings, _sender(settings))))
    try:
        return _build(settings, clock, pool)
    except BaseException:
        if pool is not None:
            pool.close()  # a start that fails leaves no worker behind
        raise


def _build(settings: Settings, clock: Clock, pool: PreparePool | None) -> App:
    engine = make_engine(settings.database_url)
    migrate_aside(engine)
    store = Store(engine, ref_prefix=settings.tickets.ref_prefix)
    smtp = SmtpSender(settings.smtp)
    holder = instance_name()  # the same name on leases and outbox claims
    return App(
        settings=settings,
        store=store,
        ingestors=[Ingestor(box, store, clock) for box in settings.effective_mailboxes()],
        processor=build_processor(settings, store, clock, pool),
        pool=pool,
        outbox=OutboxSender(
            store,
            smtp,
            clock,
            holder=holder,
            gone=functools.partial(holder_gone, me=holder),
            journal=sent_journal(engine),
        ),
        escalator=Escalator(
            Workflow(engine),
            EscalationConfig(
                settings.escalation.policy(),
                Sender(settings.smtp.from_address, settings.smtp.from_name, None),
                webhook_timeout=settings.escalation.webhook_timeout,
            ),
            clock,
        ),
        smtp=smtp,
        clock=clock,
        leases=LeaseKeeper(store, clock, holder=holder),
    )


def build_faq(settings: Settings) -> Suggest:
    """The knowledge-base matcher; without articles (or with faq off) it suggests nothing."""
    replies = settings.replies
    if not (replies.faq and replies.faq_max):
        return no_suggestions
    index = faq_index(settings.faq_dir, FaqPolicy(margin=replies.faq_margin, limit=replies.faq_max))
    if index is None:
        return no_suggestions
    log.info("%d knowledge-base articles for suggestions", len(index))
    return index.suggest_many


def build_processor(
    settings: Settings, store: Store, clock: Clock, pool: PreparePool | None = None
) -> Processor:
    """Model, templates and policies from settings; on reload the running one is swapped.

    With a pool (and `processing.workers` = 1) batches are prepared in its worker, and this
    process loads the model only to check it, and the language detector and FAQ index not at
    all, unless it has to prepare a batch itself (the worker failed): see runners/preparepool.
    """
    tax = settings.taxonomy
    offloaded = pool is not None and settings.processing.workers > 0
    registry = ModelRegistry(store, shipped_dir=settings.models_dir, state_dir=settings.state_dir)
    model = ActiveModel(
        registry,
        categories=tax.categories,
        urgencies=tax.urgencies,
        clock=clock,
        resident=not offloaded,
    )
    log.info("classifier model %s checked", model.version)
    config = process_config(settings, _sender(settings))
    suggest = _faq_on_first_use(settings) if offloaded else build_faq(settings)
    offload = None
    if pool is not None and offloaded:
        spec = worker_spec(settings, config)
        offload = Offload(pool, spec, model.directory)
        pool.warm_up(spec, model.directory())  # starts now, alongside this process's start
    return Processor(
        store,
        suggest=suggest,
        model=model,
        model_version=lambda: model.version,
        detect_language=(lazy_detector if offloaded else make_detector)(tax.languages),
        renderer=FileTemplates(settings.templates_dir, default_language=tax.default_language),
        archive=archive_from(settings.security),
        config=config,
        offload=offload,
        clock=clock,
    )


def _sender(settings: Settings) -> Sender:
    return Sender(settings.smtp.from_address, settings.smtp.from_name, settings.smtp.reply_to)


def _faq_on_first_use(settings: Settings) -> Suggest:
    """build_faq's matcher, built when this process first prepares a batch itself. The
    articles are read now all the same: a malformed one must fail the start (or the reload)
    with its file named, as it does without the worker."""
    if settings.replies.faq and settings.replies.faq_max:
        load_articles(settings.faq_dir)
    built: list[Suggest] = []

    def suggest(queries: Sequence[tuple[str, str]]) -> list[tuple[FaqLink, ...]]:
        if not built:
            built.append(build_faq(settings))
        return built[0](queries)

    return suggest


def process_config(settings: Settings, sender: Sender) -> ProcessConfig:
    tax = settings.taxonomy
    mailboxes = settings.effective_mailboxes()
    return ProcessConfig(
        sender=sender,
        official_domains=tuple(settings.security.official_domains),
        incident_category=settings.security.phishing_category,
        own_addresses=tuple({settings.smtp.from_address, *(box.username for box in mailboxes)}),
        sla=settings.sla.policy(),
        mailbox_windows={
            (box.account, box.folder): Windows(dict(box.first_response_hours))
            for box in mailboxes
            if box.first_response_hours
        },
        language_zones=dict(settings.sla.language_timezones),
        help_url=settings.replies.help_url,
        agent_addresses=frozenset(a.lower() for a in settings.agents.addresses),
        sent_mailboxes=frozenset(
            (box.account, box.folder) for box in mailboxes if box.role == "sent"
        ),
        close_keywords=tuple(settings.agents.close_keywords),
        warn_fraction=settings.escalation.warn_fraction,
        classify_policy=ClassifyPolicy(
            tuple(tax.languages),
            tax.default_language,
            rules=settings.classifier.compiled_rules(),
            urgencies=tuple(tax.urgencies),
        ),
        ref_prefix=settings.tickets.ref_prefix,
        triage_threshold=settings.classifier.triage_threshold,
        max_acks_per_hour=settings.replies.max_acks_per_sender_per_hour,
        status_answers_per_hour=settings.replies.status_answers_per_hour,
        same_subject_window_hours=settings.tickets.same_subject_window_hours,
        quarantine_noise=settings.replies.robots == "quarantine",
        max_bytes=settings.tickets.max_message_bytes,
    )


def worker_spec(settings: Settings, config: ProcessConfig) -> WorkerSpec:
    """What the worker process needs to prepare batches exactly as this process would."""
    tax, replies = settings.taxonomy, settings.replies
    return WorkerSpec(
        prepare=prepare_config(config),
        languages=tuple(tax.languages),
        categories=tuple(tax.categories),
        urgencies=tuple(tax.urgencies),
        faq_dir=settings.faq_dir if replies.faq and replies.faq_max else None,
        faq_margin=replies.faq_margin,
        faq_limit=replies.faq_max,
    )


async def run_once(app: App) -> int:
    """Everything now in the mailbox, then drain the outbox. 0 ok, 1 if anything failed.

    Processing and sending run even when IMAP is down, so stored mail still gets answered.
    """
    ok = True
    for ingestor in app.ingestors:
        with log_context(mailbox=ingestor.label):
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
    await _record_sent(app)
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


async def run_forever(
    app: App,
    *,
    notifier: Notifier | None = None,
    ready_checks: Sequence[ReadyCheck] = (),
    reload: Callable[[], Settings] | None = None,
) -> int:
    """The daemon: ingest, process, send, escalate until SIGTERM/SIGINT; SIGHUP reloads.

    Tells systemd READY=1 once every mailbox has been reached and every check in
    `ready_checks` has passed, pings its watchdog from the event loop, and keeps STATUS= up to
    date. Returns 0 after a clean stop, 1 when a loop died of an unexpected error (so systemd's
    Restart=on-failure starts a fresh process).
    """
    notifier = notifier or Notifier(None)
    stop, hup = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, hup.set)
    wakes = _Wakes(loop)
    health = Health(
        notifier, [f"IMAP {i.label}" for i in app.ingestors] + [name for name, _ in ready_checks]
    )
    scheduler = _start_scheduler(app)
    tasks = [
        *(
            asyncio.create_task(
                _ingest_loop(ingestor, stop, wakes, health, app.lease_keeper),
                name=f"ingest {ingestor.label}",
            )
            for ingestor in app.ingestors
        ),
        asyncio.create_task(_process_loop(app, stop, wakes, health), name="process"),
        asyncio.create_task(_outbox_loop(app, stop, wakes, health), name="outbox"),
    ]
    metrics = _start_metrics(app, health)
    helpers = [
        asyncio.create_task(app.lease_keeper.renew_forever(stop)),
        *(asyncio.create_task(check_loop(n, c, stop, health)) for n, c in ready_checks),
        asyncio.create_task(_reload_loop(app, hup, reload, health, scheduler)),
        *_systemd_tasks(app, notifier, health, stop),
    ]
    log.info("mailbot running: %s", ", ".join(i.label for i in app.ingestors))
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    # A loop that returns because SIGTERM set `stop` (it may finish before `stopper` is seen
    # done) has not crashed; one that raised, or returned on its own, has.
    crashed = [t for t in tasks if t in done and (t.exception() or not stop.is_set())]
    for task in crashed:
        log.error("ALERT the %s loop died: %r", task.get_name(), task.exception())
    log.info("stopping: finishing in-flight work")
    notifier.notify("STOPPING=1", "STATUS=stopping: finishing in-flight work")
    stop.set()
    wakes.stop_processing.set()
    app.escalator.stopping.set()
    scheduler.shutdown(wait=False)
    for helper in helpers:
        helper.cancel()
    await asyncio.gather(*tasks, *helpers, return_exceptions=True)
    for ingestor in app.ingestors:
        await ingestor.reset()
    await app.smtp.close()
    await _record_sent(app)
    if app.pool is not None:
        app.pool.close()
    await app.lease_keeper.release_all()
    if metrics is not None:
        metrics.close()
    log.info("stopped")
    notifier.close()
    return 1 if crashed else 0


async def _record_sent(app: App) -> None:
    """On the way out: what the sent journal holds into the database (else the next start),
    then let go of the journal."""
    try:
        await app.outbox.record_sent()
    except (TransientError, OSError) as exc:
        log.warning("sent acknowledgements stay in the journal until the next start: %s", exc)
    finally:
        app.outbox.close()


def _start_scheduler(app: App) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler()

    async def scan() -> None:
        if await app.lease_keeper.ensure("escalation-scan"):  # one instance scans at a time
            await app.escalator.scan()

    scheduler.add_job(
        scan,
        "interval",
        id="escalate",
        seconds=app.settings.escalation.check_interval,
        max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    return scheduler


def _start_metrics(app: App, health: Health) -> MetricsServer | None:
    """GET /metrics and /health on the configured loopback port (off when port is 0)."""
    cfg = app.settings.metrics
    if not cfg.port:
        return None
    registry = CollectorRegistry()
    registry.register(
        DatabaseCollector(
            app.store.engine, now=app.clock.now, model=lambda: app.processor.model_version
        )
    )

    def state() -> dict[str, object]:
        database = database_ok(app.store.engine)
        down = sorted(health.down)
        return {
            "healthy": health.ready and database and not down,
            "ready": health.ready,
            "database": database,
            "unavailable": down,
            "waiting_for": list(health.waiting),
        }

    server = MetricsServer(registry, state, host=cfg.host, port=cfg.port)
    server.start()
    log.info("metrics on http://%s:%d/metrics and /health", cfg.host, server.port)
    return server


def _systemd_tasks(
    app: App, notifier: Notifier, health: Health, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    """WATCHDOG=1 pings and STATUS= updates, only when started by systemd with Type=notify."""
    if not notifier.enabled:
        return []
    tasks = [asyncio.create_task(status_loop(health, lambda: _status_line(app, health), stop))]
    interval = notifier.watchdog_interval
    if interval is not None:
        tasks.append(asyncio.create_task(watchdog_loop(notifier, interval, stop)))
    return tasks


async def _status_line(app: App, health: Health) -> str:
    """What `systemctl status mailbot` shows once running: cheap counts and what is down."""
    try:
        open_ = len(await asyncio.to_thread(app.store.unanswered_open_tickets, app.clock.now()))
        pending = await asyncio.to_thread(app.store.pending_outbox_count)
    except TransientError:
        return f"running; database unavailable{health.down_suffix()}"
    boxes = len(app.ingestors)
    return (
        f"ingesting {boxes} mailbox{'es' if boxes != 1 else ''}, {open_} ticket(s) awaiting a "
        f"first response, outbox {pending} pending{health.down_suffix()}"
    )


async def _reload_loop(
    app: App,
    hup: asyncio.Event,
    reload: Callable[[], Settings] | None,
    health: Health,
    scheduler: AsyncIOScheduler,
) -> None:
    while True:
        await hup.wait()
        hup.clear()
        if reload is None:
            log.warning("SIGHUP ignored: this daemon was started without a config file to re-read")
            continue
        if health.ready:
            health.notifier.reloading()
        await reload_app(app, reload, scheduler)
        if health.ready:
            health.notifier.ready("reloaded")


async def reload_app(
    app: App, reload: Callable[[], Settings], scheduler: AsyncIOScheduler | None = None
) -> bool:
    """Re-read the config and apply what can be applied live; keep everything on any error.

    Applied: logging, templates, the model (the registry is read again), classifier, replies,
    SLA and ticket policies, from_name/from_address/reply_to, the escalation interval. Connection
    settings (IMAP, mailboxes, SMTP server and login, database, state_dir, ref_prefix) need a
    restart; a changed one is logged, and the running daemon keeps the old values.
    """
    log.info("SIGHUP: re-reading the configuration")
    try:
        new = await asyncio.to_thread(reload)
        processor = await asyncio.to_thread(build_processor, new, app.store, app.clock, app.pool)
    except MailbotError as exc:
        log.error("reload failed; still running with the previous configuration: %s", exc)
        return False
    except Exception:  # a surprise in a reload must never take the daemon down
        log.exception("reload failed; still running with the previous configuration")
        return False
    app.processor = processor  # the process loop picks it up at its next batch
    if scheduler is not None:
        scheduler.reschedule_job(
            "escalate", trigger="interval", seconds=new.escalation.check_interval
        )
    for what in restart_needed(app.settings, new):
        log.warning("%s changed: restart mailbot to apply it (still using the old value)", what)
    log.info("configuration reloaded (templates %s)", new.templates_dir)
    configure_from(new)  # last, so the line above is written at the old level
    return True


class _Wakes:
    """Events that let one loop start another at once instead of at its next tick."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.process = asyncio.Event()
        self.outbox = asyncio.Event()
        self.stop_processing = threading.Event()  # seen by the processing worker thread
        self._loop = loop

    def outbox_from_thread(self) -> None:
        self._loop.call_soon_threadsafe(self.outbox.set)


async def _ingest_loop(
    ingestor: Ingestor, stop: asyncio.Event, wakes: _Wakes, health: Health, leases: LeaseKeeper
) -> None:
    bind(mailbox=ingestor.label)  # every line this task logs names its mailbox
    name = f"IMAP {ingestor.label}"
    outage = Outage(name, health)
    database = Outage("database (ingest)")  # a full or locked database is not an IMAP outage
    while not stop.is_set():
        if not await leases.ensure(f"ingest:{ingestor.label}"):
            # Another instance ingests this mailbox; stand by to take over if it dies.
            await ingestor.reset()
            health.passed(name)
            await sleep_unless(stop, STANDBY_SECONDS)
            continue
        try:
            if await ingestor.poll_once():
                wakes.process.set()
            health.passed(name)
            await ingestor.wait_for_news(stop)
            outage.ok()  # only when the wait worked too: a failing IDLE is an outage
            database.ok()
        except DatabaseUnavailable as exc:  # nothing was flagged: the mail stays on the server
            await ingestor.reset()
            await sleep_unless(stop, database.failed(str(exc)))
        except TransientError as exc:
            await ingestor.reset()
            await sleep_unless(stop, outage.failed(str(exc)))
        except Exception as exc:  # per iteration: never let one surprise end intake for good
            log.exception("ingest of %s failed unexpectedly", ingestor.label)
            await ingestor.reset()
            await sleep_unless(stop, outage.failed(repr(exc)))


async def _process_loop(app: App, stop: asyncio.Event, wakes: _Wakes, health: Health) -> None:
    outage = Outage("database", health)
    delay = 0.0
    while not stop.is_set():
        await sleep_unless(stop, delay, wakes.process)
        wakes.process.clear()
        if not await app.lease_keeper.ensure("process"):
            delay = STANDBY_SECONDS  # another instance processes; take over if it dies
            continue
        try:
            await app.processor.process_pending(wakes.stop_processing, wakes.outbox_from_thread)
            outage.ok()
            delay = 5.0  # also picks up rows left by a previous run or a retry
        except Exception as exc:  # TransientError (database) or a surprise: back off
            if not isinstance(exc, TransientError):
                log.exception("processing failed unexpectedly")
            delay = outage.failed(str(exc))


async def _outbox_loop(app: App, stop: asyncio.Event, wakes: _Wakes, health: Health) -> None:
    outage = Outage("SMTP", health)
    database = Outage("database (outbox)")  # a locked or full database is not an SMTP outage
    while not stop.is_set():
        wakes.outbox.clear()  # before draining, so a wake-up during the drain is kept
        delay = 5.0
        wake: asyncio.Event | None = wakes.outbox
        try:
            result = await app.outbox.drain_once()
            if result.blocked:
                # Back off for real: a new acknowledgement must not cut the wait short, or a
                # burst of them would retry (and escalate the backoff) many times a second.
                wake = None
                if result.database_error:
                    delay = database.failed(result.database_error)
                else:
                    delay = outage.failed(result.error)
            elif result.sent or result.dead:
                outage.ok()
                database.ok()
                continue
        except Exception as exc:
            log.exception("outbox failed unexpectedly")
            delay = outage.failed(repr(exc))
        await sleep_unless(stop, delay, wake)
