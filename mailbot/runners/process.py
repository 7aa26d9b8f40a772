"""Inbox rows -> parse -> loop check -> correlate -> classify -> decide -> render -> store.

Each message ends in exactly one state: a ticket (+ ack in the outbox), a follow-up, or a
quarantine row with the reason. A batch is parsed and classified first (one model call), then
written in transactions of at most TRANSACTION_SECONDS, each message in its own SAVEPOINT, so
a failing message rolls back alone and becomes its quarantine row.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from mailbot.adapters.archive import Archive
from mailbot.adapters.memory import release_free_memory
from mailbot.adapters.store import (
    NOTHING_FOUND,
    AlreadyProcessed,
    Batch,
    Protection,
    Renewal,
    Store,
)
from mailbot.adapters.workflow import record_agent_reply
from mailbot.clock import Clock
from mailbot.core.autoreply import loop_verdict
from mailbot.core.classify import ClassifyPolicy, TextModel
from mailbot.core.correlate import candidate_ids, candidate_refs, correlate, ref_pattern
from mailbot.core.decide import decide
from mailbot.core.protect import Exposure, template_for, urgency_for
from mailbot.core.render import AckExtras, Sender, TemplateRenderer, customer_zone, render_ack
from mailbot.core.sla import SlaPolicy, Windows
from mailbot.core.sla import promise as sla_promise
from mailbot.core.status import NOT_THE_OWNER, CaseState, asks_for_status, may_answer, refs_in_text
from mailbot.domain import (
    Action,
    Classification,
    Decision,
    FaqLink,
    LoopVerdict,
    OutgoingMail,
    ParsedMail,
    PendingInbox,
    Promise,
    ThreadMatch,
    TicketView,
)
from mailbot.errors import TemplateError, TransientError
from mailbot.runners.prepare import (
    PrepareConfig,
    Prepared,
    Preparer,
    Suggest,
    no_suggestions,
)
from mailbot.runners.preparepool import Offload

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessConfig:
    sender: Sender
    own_addresses: tuple[str, ...]
    sla: SlaPolicy
    classify_policy: ClassifyPolicy
    ref_prefix: str
    triage_threshold: float = 0.0
    max_acks_per_hour: int = 3
    status_answers_per_hour: int = 3  # per ticket: "status" answers beyond it are recorded only
    same_subject_window_hours: float = 168.0
    quarantine_noise: bool = False
    max_bytes: int = 40 * 1024 * 1024
    # (account, folder) -> that mailbox's own first-response windows (e.g. a VIP address).
    mailbox_windows: dict[tuple[str, str], Windows] = field(default_factory=dict)
    # Show due times in these zones when the customer's Date header does not say (see
    # core.render.customer_zone).
    language_zones: dict[str, str] = field(default_factory=dict)
    help_url: str = ""
    # Agents: their addresses and "@domains", the (account, folder)s of sent mail, and the
    # words in a reply that also resolve the ticket.
    agent_addresses: frozenset[str] = frozenset()
    sent_mailboxes: frozenset[tuple[str, str]] = frozenset()
    close_keywords: tuple[str, ...] = ()
    # The escalation policy's warning point: a new ticket needs no scan before it.
    warn_fraction: float = 0.75
    batch: int = 200
    # Our own domains (lookalikes in forwarded mail are phishing), and the category such a
    # ticket gets.
    official_domains: tuple[str, ...] = ()
    incident_category: str = "security_incident"


# A processing transaction is committed after this long. On SQLite it holds the one write
# lock, which ingest (storing a fetched batch) and the sender (claiming rows, folding the
# sent journal in) wait for, once per batch or drain; marking each acknowledgement sent no
# longer does (adapters/sentjournal.py). Each commit costs the processing thread ~2-3 ms
# (an fsync, the shared pages written again): 1,000 messages from a first start ran faster
# with 30 ms than with 10 ms transactions (+4, +10, +23 %) and, with the journal, faster
# with 100 ms than 30 (+5, +15, +19 %); 300 ms was not faster than 100.
TRANSACTION_SECONDS = 0.1


# The first batch of a pass is this small, and each next one twice the last, up to `batch`:
# a backlog's first acknowledgements go out after a few dozen messages are prepared rather
# than a whole batch (~0.5 s on a first start), and storing starts while the worker prepares.
FIRST_BATCH = 25


def _nothing() -> None:
    pass


def prepare_config(config: ProcessConfig) -> PrepareConfig:
    """The part of the configuration the pure stages use."""
    return PrepareConfig(
        classify_policy=config.classify_policy,
        max_bytes=config.max_bytes,
        official_domains=config.official_domains,
        incident_category=config.incident_category,
        agent_addresses=config.agent_addresses,
        sent_mailboxes=config.sent_mailboxes,
    )


@dataclass
class _Work:
    """A message between the pure stages (done for the whole batch) and the database."""

    row: PendingInbox
    mail: ParsedMail | None = None
    agent: bool = False
    classification: Classification | None = None
    faq: tuple[FaqLink, ...] = ()
    error: Exception | None = None  # raised when the message is handled: it is quarantined
    exposure: Exposure = field(default_factory=Exposure)  # secrets (redacted), lookalikes

    @classmethod
    def of(cls, row: PendingInbox, p: Prepared) -> _Work:
        return cls(row, p.mail, p.agent, p.classification, p.faq, p.error, p.exposure)


class Processor:
    def __init__(
        self,
        store: Store,
        *,
        model: Callable[[], TextModel],
        detect_language: Callable[[str], str | None],
        renderer: TemplateRenderer,
        config: ProcessConfig,
        clock: Clock,
        suggest: Suggest = no_suggestions,
        archive: Archive | None = None,
        offload: Offload | None = None,
        model_version: Callable[[], str] | None = None,  # without loading it, if it can
    ) -> None:
        self._store = store
        self._model = model
        self._model_version = model_version or (lambda: model().version)
        self._preparer = Preparer(
            prepare_config(config), detect_language=detect_language, suggest=suggest
        )
        self._offload = offload
        self._renderer = renderer
        self._cfg = config
        self._clock = clock
        self._refs = ref_pattern(config.ref_prefix)
        self._archive = archive or Archive(None)  # no key: raw mail with a secret is dropped

    @property
    def model_version(self) -> str:
        return self._model_version()

    async def process_pending(
        self, stop: threading.Event | None = None, on_ack: Callable[[], None] | None = None
    ) -> int:
        """Process received rows until none is left or `stop` is set; returns how many.

        `on_ack` is called (from the worker thread) after each commit that queued an
        acknowledgement, so the sender can start at once.
        """
        return await asyncio.to_thread(self._process_all, stop or threading.Event(), on_ack)

    def _process_all(self, stop: threading.Event, on_ack: Callable[[], None] | None) -> int:
        """Batch after batch; under load the next batch is prepared (in the worker process)
        while this one is stored."""
        done = 0
        size = min(FIRST_BATCH, self._cfg.batch)
        rows = self._store.pending_inbox(size)
        ready = self._start_preparing(rows)
        while rows and not stop.is_set():
            work = ready()
            size = min(size * 2, self._cfg.batch)
            following = self._store.pending_inbox(size, after=rows[-1].id)
            ready = self._start_preparing(following)
            done += self._store_batch(work, stop, on_ack or _nothing)
            rows = following
            del work
            release_free_memory()  # a batch's raw mail and matrices: back to the system
        return done

    def _start_preparing(self, rows: list[PendingInbox]) -> Callable[[], list[_Work]]:
        """The batch's pure stages, started now; call the result for the prepared batch.
        Small batches, or no worker, are prepared here (at once); a worker's failure too."""
        offload = self._offload
        future = offload.submit(rows) if offload is not None and rows else None
        if future is None:
            return functools.partial(self._prepare, rows)

        def result() -> list[_Work]:
            try:
                prepared = future.result()
            except Exception as exc:  # the worker died, or its result could not come back
                assert offload is not None
                offload.failed(exc)
                return self._prepare(rows)
            return [_Work.of(row, p) for row, p in zip(rows, prepared, strict=True)]

        return result

    def _store_batch(
        self, work: list[_Work], stop: threading.Event, on_ack: Callable[[], None]
    ) -> int:
        """The pure stages for the whole batch first (one model call for all of it), then
        the database work in transactions of at most TRANSACTION_SECONDS, one SAVEPOINT per
        message. A crash or a database outage leaves the uncommitted rows "received"."""
        done = 0
        self._renderer.refresh()  # template edits made until now are used for this batch
        with self._store.batch() as tx:
            pending: list[tuple[int, str]] = []  # (inbox id, outcome) until committed
            acks = 0
            started = time.monotonic()
            for item in work:
                if stop.is_set():
                    break  # the rest stays "received" for the next start
                outcome, acked = self._process_item(item, tx)
                if outcome is not None:
                    pending.append((item.row.id, outcome))
                acks += acked
                done += 1
                if time.monotonic() - started >= TRANSACTION_SECONDS:
                    acks = self._commit(tx, pending, acks, on_ack)
                    started = time.monotonic()
            self._commit(tx, pending, acks, on_ack)
        return done

    @staticmethod
    def _commit(
        tx: Batch, pending: list[tuple[int, str]], acks: int, on_ack: Callable[[], None]
    ) -> int:
        failed = tx.commit()  # new tickets that could not be written after all
        for inbox_id, outcome in pending:
            exc = failed.get(inbox_id)
            if exc is None:
                log.info("inbox #%d -> %s", inbox_id, outcome)
            elif isinstance(exc, AlreadyProcessed):
                log.warning("inbox #%d skipped: %s", inbox_id, exc)
            else:
                log.error("inbox #%d quarantined", inbox_id, exc_info=exc)
        pending.clear()
        if acks:
            on_ack()  # the sender can start at once
        return 0

    def _prepare(self, rows: list[PendingInbox]) -> list[_Work]:
        """Parse, classify and look up FAQ answers for a batch: no database, one model call."""
        prepared = self._preparer.prepare(rows, self._model())
        return [_Work.of(row, p) for row, p in zip(rows, prepared, strict=True)]

    def _process_item(self, item: _Work, tx: Batch) -> tuple[str | None, bool]:
        """One message to its final state inside `tx`: (outcome to log, ack queued)."""
        row = item.row
        try:
            with tx.item():
                return self._handle(item, tx)
        except TransientError:
            raise  # the database is unavailable: stop, the rows stay "received"
        except AlreadyProcessed as exc:
            log.warning("inbox #%d skipped: %s", row.id, exc)
            return None, False
        except Exception as exc:  # per item: anything else quarantines this message only
            log.exception("inbox #%d quarantined", row.id)
            with tx.item():
                tx.quarantine(row.id, f"{exc.__class__.__name__}: {exc}", now=self._clock.now())
            return None, False

    def _handle(self, item: _Work, tx: Batch) -> tuple[str, bool]:
        """Check, thread, decide and store one prepared message; (outcome, acked)."""
        if item.error is not None:
            raise item.error
        row, mail = item.row, item.mail
        assert mail is not None
        now = self._clock.now()
        protection = self._protection(row, item.exposure)
        match = self._thread(mail, now, tx)
        if item.agent:
            return self._agent_mail(row, mail, match, now, tx, protection), False
        verdict = self._verdict(mail, now, tx)
        status = self._status_request(row, mail, match, verdict, now, tx, protection)
        if status is not None:
            return status
        if match.ticket_id is None and verdict.robot and self._cfg.quarantine_noise:
            tx.quarantine(row.id, f"noise: {verdict.reason}", now=now)
            return f"quarantined as noise ({verdict.reason})", False
        classification = item.classification
        assert classification is not None
        decision = decide(
            classification,
            match,
            verdict,
            received=row.fetched_at,
            sender=mail.from_address,
            sla=self._cfg.sla,
            mailbox_windows=self._cfg.mailbox_windows.get((row.account, row.mailbox)),
            triage_threshold=self._cfg.triage_threshold,
        )
        if decision.action is Action.FOLLOW_UP:
            assert decision.ticket_id is not None
            kind = "bounce" if mail.is_delivery_report else "follow_up"
            ref = tx.add_follow_up(
                row.id,
                decision.ticket_id,
                mail,
                decision,
                now=now,
                kind=kind,
                renew=self._renewal(row, mail, verdict, now, item.exposure),
                protection=protection,
            )
            return f"{kind} on {ref} ({match.reason})", False
        decision = replace(decision, template=template_for(decision.template, item.exposure))
        renderer = (
            self._ack_renderer(mail, classification, decision, now, item.faq, item.exposure)
            if decision.send_ack
            else None
        )
        ref = tx.open_ticket(
            row.id,
            mail,
            classification,
            decision,
            received=row.fetched_at,
            now=now,
            needs_triage=decision.needs_triage,
            render_ack=renderer,
            first_check=self._first_check(row.fetched_at, decision),
            protection=protection,
        )
        c = classification
        return f"ticket {ref} {c.category}/{c.urgency}/{c.language}", renderer is not None

    def _protection(self, row: PendingInbox, exposure: Exposure) -> Protection:
        """What the message's transaction must record about what it exposed; a message that
        held a secret has its raw archive encrypted (or dropped) in that same transaction."""
        if not exposure:
            return NOTHING_FOUND
        urgencies = self._cfg.classify_policy.urgencies
        sealed = self._archive.seal(row.raw) if exposure.kinds else None
        if sealed is not None:
            log.warning(
                "inbox #%d exposed %s: redacted; raw archive %s",
                row.id,
                ", ".join(exposure.kinds),
                sealed[1],
            )
        return Protection(
            exposed=tuple(exposure.kinds),
            lookalikes=tuple(lk.host for lk in exposure.lookalikes),
            raise_to=urgency_for(exposure.severity, urgencies) or "",
            order=tuple(urgencies),
            sealed=sealed,
        )

    def _status_request(
        self,
        row: PendingInbox,
        mail: ParsedMail,
        match: ThreadMatch,
        verdict: LoopVerdict,
        now: datetime,
        tx: Batch,
        protection: Protection,
    ) -> tuple[str, bool] | None:
        """A short "status?" about one of the sender's own tickets: answered (unless held
        back) and recorded on the ticket, not treated as a new request. None: not one."""
        if not asks_for_status(mail, self._refs):
            return None
        ticket_id = match.ticket_id or self._own_ticket_named_in_text(mail, tx)
        found = tx.case_state(ticket_id, now=now) if ticket_id is not None else None
        if found is None:
            return None
        view, state = found
        why = may_answer(state, mail.from_address, max_per_hour=self._cfg.status_answers_per_hour)
        if why == NOT_THE_OWNER:
            return None  # an ordinary message: it never learns anything about the ticket
        if not why and not verdict.may_reply:
            why = verdict.reason
        render = None if why else functools.partial(self._status_answer, view, state, mail, now)
        assert ticket_id is not None
        ref = tx.answer_status(
            row.id, ticket_id, mail, render, now=now, reason=why, protection=protection
        )
        return f"status request on {ref}" + (f", not answered: {why}" if why else ""), not why

    def _own_ticket_named_in_text(self, mail: ParsedMail, tx: Batch) -> int | None:
        refs = refs_in_text(mail, self._refs)
        if not refs:
            return None
        _, by_ref = tx.thread_lookup((), refs)
        sender = mail.from_address.lower()
        return next((tid for tid, owner in by_ref.values() if owner.lower() == sender), None)

    def _status_answer(
        self, view: TicketView, state: CaseState, mail: ParsedMail, now: datetime, seq: int
    ) -> OutgoingMail:
        calendar = self._cfg.sla.calendar.timezone.key
        due = state.due or now  # a resolved case's answer shows no due time
        extras = AckExtras(
            promise=Promise(due, due, 0.0, False, calendar, "status"),
            zone=customer_zone(
                mail.date,
                view.language,
                language_zones=self._cfg.language_zones,
                calendar_zone=calendar,
            ),
            help_url=self._cfg.help_url,
            case_open=state.open,
            waiting_for=state.waiting_for,
        )
        return self._render_or_default(
            view,
            "status",
            in_reply_to=mail.message_id,
            references=mail.references,
            now=now,
            extras=extras,
            seq=seq,
            kind="status",
        )

    def _renewal(
        self,
        row: PendingInbox,
        mail: ParsedMail,
        verdict: LoopVerdict,
        now: datetime,
        exposure: Exposure,
    ) -> Renewal:
        """For a follow-up that re-opens a resolved ticket: a new promise counted from this
        message, told to the customer with the "reopened" template unless replies to this
        sender are held back (loops, rate limit)."""

        def renew(view: TicketView, seq: int) -> tuple[Promise, OutgoingMail | None]:
            promised = sla_promise(
                self._cfg.sla,
                received=row.fetched_at,
                category=view.category,
                urgency=view.urgency,
                sender=mail.from_address,
                mailbox=self._cfg.mailbox_windows.get((row.account, row.mailbox)),
            )
            if not verdict.may_reply:
                return promised, None
            renewed = replace(
                view,
                received_at=row.fetched_at,
                first_response_due=promised.first_response_due,
            )
            extras = AckExtras(
                promise=promised,
                zone=customer_zone(
                    mail.date,
                    view.language,
                    language_zones=self._cfg.language_zones,
                    calendar_zone=promised.timezone,
                ),
                faq=(),
                help_url=self._cfg.help_url,
                needs_triage=False,
                exposed=tuple(exposure.kinds),  # a secret in the reply: warned here too
            )
            out = self._render_or_default(
                renewed,
                "reopened",
                in_reply_to=mail.message_id,
                references=mail.references,
                now=now,
                extras=extras,
                seq=seq,
            )
            return promised, out

        return renew

    def _first_check(self, received: datetime, decision: Decision) -> datetime | None:
        """The earliest moment an escalation (a warning) could fire; saves the scan a write
        per new ticket."""
        if decision.promise is None:
            return None
        due = min(decision.promise.first_response_due, decision.promise.resolution_due)
        return received + self._cfg.warn_fraction * max(due - received, timedelta(0))

    def _agent_mail(
        self,
        row: PendingInbox,
        mail: ParsedMail,
        match: ThreadMatch,
        now: datetime,
        tx: Batch,
        protection: Protection,
    ) -> str:
        """An agent's reply keeps the ticket's first-response promise; nothing else does."""
        automatic = mail.header("auto-submitted").strip().lower() not in ("", "no")
        if automatic:  # our own acknowledgements and digests, seen again in the Sent folder
            tx.quarantine(row.id, "noise: our own automatic mail", now=now)
            return "our own automatic mail, set aside"
        if match.ticket_id is None:
            tx.quarantine(row.id, "agent mail that joins no ticket", now=now)
            return "agent mail joining no ticket, set aside"
        words = f"{mail.subject}\n{mail.new_text or mail.text}".lower()
        close = any(k.lower() in words for k in self._cfg.close_keywords)
        ticket_id = match.ticket_id
        sealed = protection.sealed
        ref = tx.apply(
            lambda s: record_agent_reply(
                s, row.id, ticket_id, mail, now=now, close=close, sealed=sealed
            )
        )
        return f"agent reply on {ref}{' (closed)' if close else ''} ({match.reason})"

    def _thread(self, mail: ParsedMail, now: datetime, tx: Batch) -> ThreadMatch:
        by_id, by_ref = tx.thread_lookup(candidate_ids(mail), candidate_refs(mail, self._refs))
        since = now - timedelta(hours=self._cfg.same_subject_window_hours)
        recent = tx.recent_tickets_from(mail.from_address, since)
        return correlate(
            mail,
            tickets_by_message_id=by_id,
            tickets_by_ref=by_ref,
            pattern=self._refs,
            recent_from_sender=recent,
        )

    def _verdict(self, mail: ParsedMail, now: datetime, tx: Batch) -> LoopVerdict:
        recent = tx.recent_acks_to(mail.from_address, now - timedelta(hours=1))
        return loop_verdict(
            mail,
            own_addresses=self._cfg.own_addresses,
            recent_acks_to_sender=recent,
            max_acks_per_hour=self._cfg.max_acks_per_hour,
        )

    def _ack_renderer(
        self,
        mail: ParsedMail,
        classification: Classification,
        decision: Decision,
        now: datetime,
        faq: tuple[FaqLink, ...],
        exposure: Exposure,
    ) -> Callable[[TicketView], OutgoingMail]:
        assert decision.promise is not None
        language = classification.language
        extras = AckExtras(
            promise=decision.promise,
            zone=customer_zone(
                mail.date,
                language,
                language_zones=self._cfg.language_zones,
                calendar_zone=decision.promise.timezone,
            ),
            faq=faq,
            help_url=self._cfg.help_url,
            needs_triage=decision.needs_triage,
            exposed=tuple(exposure.kinds),
            lookalikes=tuple((lk.host, lk.imitates) for lk in exposure.lookalikes),
            official_domains=self._cfg.official_domains,
        )
        template = decision.template

        def render(view: TicketView) -> OutgoingMail:
            return self._render_or_default(
                view,
                template,
                in_reply_to=mail.message_id,
                references=mail.references,
                now=now,
                extras=extras,
            )

        return render

    def _render_or_default(
        self,
        view: TicketView,
        template: str,
        *,
        in_reply_to: str,
        references: tuple[str, ...],
        now: datetime,
        extras: AckExtras,
        seq: int = 1,
        kind: str = "ack",
    ) -> OutgoingMail:
        ack = functools.partial(
            render_ack,
            renderer=self._renderer,
            sender=self._cfg.sender,
            in_reply_to=in_reply_to,
            references=references,
            now=now,
            extras=extras,
            seq=seq,
            kind=kind,
        )
        try:
            return ack(view, template=template)
        except TemplateError as exc:
            # The customer still gets an acknowledgement: the generic one.
            log.error(
                "ALERT template %r failed for %s, using the default: %s", template, view.ref, exc
            )
            return ack(view, template="default")
