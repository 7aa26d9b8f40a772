"""The pure stages (runners/prepare.py) in a worker process, so they use the second core.

The daemon is one Python process: its event loop (IMAP, SMTP) and its processing thread share
one GIL, so it uses one core however many the machine has. Parsing, classifying and matching
FAQ articles need no database and no clock, so a batch of raw messages can go to a worker
process while this process stores the previous batch. Under load that moves roughly a third
of the CPU per message off the main process (see bench/README.md).

The daemon starts the worker with itself (`warm_up`), with "spawn" (the daemon has threads;
fork would copy their locks), and from then on every batch goes to it: the main process then
never loads the model, the language detector or the FAQ index, which keeps the two processes'
memory together near what one would use (a lone message costs ~1 ms more there and back). A
batch that comes while the worker is still starting waits for it, up to `warm_wait` seconds.
The worker loads the same model directory as the main process, and exits by itself when the
main process is gone (a kill -9 must not leave it behind). Anything going wrong in it (it
died, the model would not load, a result would not pickle) costs only that batch's offload:
the batch is prepared here instead, and a new worker is tried a minute later.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass
from pathlib import Path

from mailbot.domain import PendingInbox
from mailbot.runners.prepare import PrepareConfig, Prepared, Preparer, Suggest, no_suggestions

log = logging.getLogger(__name__)

RETRY_AFTER = 60.0  # seconds before a new worker is tried after one failed


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs to build its Preparer (picklable; compared on reload)."""

    prepare: PrepareConfig
    languages: tuple[str, ...]
    categories: tuple[str, ...]
    urgencies: tuple[str, ...]
    faq_dir: Path | None = None  # None: no FAQ suggestions
    faq_margin: float = 0.07
    faq_limit: int = 3


class Offload:
    """A processor's way to the pool: its worker spec and where the active model lives."""

    def __init__(self, pool: PreparePool, spec: WorkerSpec, model_dir: Callable[[], Path]) -> None:
        self._pool = pool
        self._spec = spec
        self._model_dir = model_dir

    def submit(self, rows: Sequence[PendingInbox]) -> Future[list[Prepared]] | None:
        return self._pool.submit(self._spec, self._model_dir(), rows)

    def failed(self, exc: BaseException) -> None:
        self._pool.failed(exc)


class PreparePool:
    """At most one worker process; `submit` returns None when it cannot be used now."""

    def __init__(self, *, min_batch: int = 1, warm_wait: float = 30.0) -> None:
        self.min_batch = min_batch
        self.warm_wait = warm_wait
        self.batches = 0  # sent to the worker so far
        self._executor: ProcessPoolExecutor | None = None
        self._spec: WorkerSpec | None = None
        self._warm: Future[None] | None = None  # done when the worker has loaded the model
        self._warm_dir: Path | None = None  # the model directory _warm loads
        self._failed_at = -RETRY_AFTER
        self._lock = threading.Lock()

    def submit(
        self, spec: WorkerSpec, model_dir: Path, rows: Sequence[PendingInbox]
    ) -> Future[list[Prepared]] | None:
        """The batch, sent to the worker; None: prepare it here (smaller than `min_batch`, the
        worker failed less than a minute ago, or it did not start within `warm_wait`)."""
        if len(rows) < self.min_batch:
            return None
        with self._lock:
            if time.monotonic() - self._failed_at < RETRY_AFTER:
                return None
            try:
                warm = self._warming(spec, model_dir)
            except Exception as exc:  # e.g. it cannot start a process at all
                self._failed_locked(exc)
                return None
        wait_for([warm], timeout=self.warm_wait)  # outside the lock: warm_up/close stay free
        with self._lock:
            try:
                if warm is not self._warm or self._executor is None:
                    return None  # closed or replaced meanwhile: prepare this one here
                if not warm.done():
                    raise TimeoutError(f"worker not ready after {self.warm_wait:.0f} s")
                warm.result()  # raises what went wrong in the start-up
                future = self._executor.submit(_prepare_here, str(model_dir), list(rows))
                self.batches += 1
                return future
            except Exception as exc:  # e.g. it broke since the last batch
                self._failed_locked(exc)
                return None

    def start(self, spec: WorkerSpec | None = None) -> None:
        """Spawn the worker now, before the model is known: its imports take a second or two
        that can overlap this process's own start (imports, database, checking the model).
        Without a spec (`mailbot run` spawns it before importing the rest of the daemon) the
        worker only imports; the spec goes with the first warm_up or batch. If it cannot
        start, batches are prepared here, as after any failure of the worker."""
        with self._lock:
            try:
                self._running(spec)
            except Exception as exc:  # e.g. no process can be spawned here
                self._failed_locked(exc)

    def warm_up(self, spec: WorkerSpec, model_dir: Path) -> Future[None]:
        """Start the worker now; the future is done when it is ready for batches, or holds
        what went wrong (the batches are then prepared here)."""
        with self._lock:
            try:
                return self._warming(spec, model_dir)
            except Exception as exc:  # e.g. its start-up already failed: the pool is broken
                self._failed_locked(exc)
                failed: Future[None] = Future()
                failed.set_exception(exc)
                return failed

    def failed(self, exc: BaseException) -> None:
        """A batch's result did not come back: drop this worker, try a new one later."""
        with self._lock:
            self._failed_locked(exc)

    def _failed_locked(self, exc: BaseException) -> None:
        log.warning("prepare worker unusable (%s: %s); preparing here", type(exc).__name__, exc)
        self._failed_at = time.monotonic()
        self._stop_locked()

    def _warming(self, spec: WorkerSpec, model_dir: Path) -> Future[None]:
        executor = self._running(spec)
        if self._warm is None or self._warm_dir != model_dir:
            self._warm = executor.submit(_load_model, str(model_dir))
            self._warm_dir = model_dir
            self._warm.add_done_callback(functools.partial(_log_warm, time.monotonic()))
        return self._warm

    def _running(self, spec: WorkerSpec | None) -> ProcessPoolExecutor:
        if self._executor is not None and self._spec not in (None, spec) and spec is not None:
            self._stop_locked()  # a reload changed what the worker must know
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(os.getpid(),),
            )
            self._spec = None
            self._executor.submit(_started)  # the process is spawned on the first submit
            log.info("prepare worker starting")
        if spec is not None and self._spec is None:
            # One worker runs its calls in order: this one comes before any model or batch.
            self._executor.submit(_configure, spec)
            self._spec = spec
        return self._executor

    def close(self) -> None:
        with self._lock:
            self._stop_locked()

    def _stop_locked(self) -> None:
        executor, self._executor, self._spec, self._warm = self._executor, None, None, None
        self._warm_dir = None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


def _log_warm(since: float, warm: Future[None]) -> None:
    """Said when it happens, not only when a batch next asks (hours later, if mail is rare)."""
    if warm.cancelled():
        return
    problem = warm.exception()
    if problem is None:
        log.info("prepare worker ready (%.2f s after the model was sent)", time.monotonic() - since)
    else:
        log.warning("prepare worker could not start (%s); batches will be prepared here", problem)


# --- in the worker process -------------------------------------------------------------------

_preparer: Preparer | None = None
_spec: WorkerSpec | None = None
_unconfigured = "worker not configured"  # or why its configuration failed
_model: tuple[str, object] | None = None  # (directory, model) last loaded


def _start_worker(parent: int) -> None:
    """The initializer: what every worker imports, before it knows its spec."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    # Imported here, not on the first batch (the daemon imports none of them).
    import charset_normalizer  # noqa: F401
    import inscriptis  # noqa: F401

    import mailbot.adapters.language
    import mailbot.adapters.modelstore  # noqa: F401


def _configure(spec: WorkerSpec) -> None:
    """The worker's first call: the language detector and FAQ index for this spec."""
    global _preparer, _spec, _unconfigured
    from mailbot.adapters.language import make_detector

    try:
        _preparer = Preparer(
            spec.prepare, detect_language=make_detector(spec.languages), suggest=_faq(spec)
        )
    except Exception as exc:  # said by every later call; the daemon then prepares batches
        _unconfigured = f"worker start-up failed: {type(exc).__name__}: {exc}"
        raise
    _spec = spec


def _exit_with_parent(parent: int) -> None:
    """A worker whose parent died (kill -9) is re-parented; it then has nothing to do."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def _faq(spec: WorkerSpec) -> Suggest:
    if spec.faq_dir is None:
        return no_suggestions
    from mailbot.adapters.knowledge import faq_index
    from mailbot.core.faq import FaqPolicy

    index = faq_index(spec.faq_dir, FaqPolicy(margin=spec.faq_margin, limit=spec.faq_limit))
    return no_suggestions if index is None else index.suggest_many


def _prepare_here(model_dir: str, rows: list[PendingInbox]) -> list[Prepared]:
    if _preparer is None or _spec is None:
        raise RuntimeError(_unconfigured)
    return _preparer.prepare(rows, _model_from(model_dir, _spec))  # type: ignore[arg-type]


def _started() -> None:
    """Nothing: submitted only to make the pool spawn its process (and run _start_worker)."""


def _load_model(model_dir: str) -> None:
    if _spec is None:
        raise RuntimeError(_unconfigured)
    _model_from(model_dir, _spec)


def _model_from(model_dir: str, spec: WorkerSpec) -> object:
    """The model in `model_dir`, loaded once (the main process checked it before using it)."""
    global _model
    if _model is None or _model[0] != model_dir:
        from mailbot.adapters.modelstore import load_model

        _model = None  # the old one is freed before the new one is loaded
        _model = (
            model_dir,
            load_model(Path(model_dir), categories=spec.categories, urgencies=spec.urgencies),
        )
    return _model[1]
