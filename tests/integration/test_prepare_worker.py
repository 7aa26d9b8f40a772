"""The prepare worker process: same results as preparing here, falls back, dies with its parent."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from mailbot.adapters.knowledge import load_articles
from mailbot.adapters.language import make_detector
from mailbot.adapters.modelstore import load_model, read_metadata
from mailbot.adapters.store import Store
from mailbot.adapters.tables import InboxMessage, Ticket
from mailbot.adapters.templates import FileTemplates
from mailbot.clock import FrozenClock
from mailbot.core.classify import ClassifyPolicy
from mailbot.core.faq import FaqIndex
from mailbot.core.parse import message_id_of
from mailbot.core.render import Sender
from mailbot.core.sla import ALWAYS_OPEN, SlaPolicy, Windows
from mailbot.domain import FetchedMail, PendingInbox
from mailbot.errors import TemplateError
from mailbot.resources import shipped
from mailbot.runners.app import build
from mailbot.runners.prepare import PrepareConfig, Preparer
from mailbot.runners.preparepool import Offload, PreparePool, WorkerSpec
from mailbot.runners.process import ProcessConfig, Processor
from mailbot.settings import DEFAULT_CATEGORIES, DEFAULT_URGENCIES, load_settings
from tests.conftest import write_offline_config

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted((ROOT / "tests" / "corpus" / "mail").glob("*.eml"))
MODEL = ROOT / "models" / "default"
KB = ROOT / "templates" / "kb"
LANGUAGES = ("en", "ko", "zh", "ja")
CATEGORIES = tuple(DEFAULT_CATEGORIES)
URGENCIES = tuple(DEFAULT_URGENCIES)
WHEN = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PHRASE = (
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
)


def spec(faq: bool = True) -> WorkerSpec:
    return WorkerSpec(
        prepare=PrepareConfig(
            classify_policy=ClassifyPolicy(LANGUAGES, "en", urgencies=URGENCIES),
            official_domains=("example-exchange.com",),
            agent_addresses=frozenset({"@example-exchange.com"}),
        ),
        languages=LANGUAGES,
        categories=CATEGORIES,
        urgencies=URGENCIES,
        faq_dir=KB if faq else None,
    )


def rows() -> list[PendingInbox]:
    raws = [path.read_bytes() for path in CORPUS[:40]]
    raws.append(b"\xff\xfe not a mail at all \x00\x00")
    raws.append(
        b"From: Kim <kim@customer.test>\r\nSubject: wallet\r\nMessage-ID: <s1@customer.test>\r\n"
        b"\r\nMy recovery phrase is " + PHRASE.encode() + b". Is my wallet safe?\r\n"
    )
    raws.append(
        b"From: Agent <lee@example-exchange.com>\r\nSubject: Re: your case\r\n"
        b"Message-ID: <a1@example-exchange.com>\r\n\r\nWe have fixed it.\r\n"
    )
    return [PendingInbox(i, raw, WHEN, "acct", "INBOX") for i, raw in enumerate(raws, 1)]


def comparable(item: object) -> object:
    fields = dataclasses.asdict(item)  # type: ignore[call-overload]
    error = fields.pop("error")
    return fields, (type(error).__name__, str(error)) if error is not None else None


def test_the_worker_prepares_a_batch_exactly_as_this_process_does() -> None:
    assert len(CORPUS) >= 40
    s = spec()
    faq = FaqIndex(load_articles(KB))
    here = Preparer(s.prepare, detect_language=make_detector(LANGUAGES), suggest=faq.suggest_many)
    model = load_model(MODEL, categories=CATEGORIES, urgencies=URGENCIES)
    batch = rows()
    expected = here.prepare(batch, model)
    pool = PreparePool(min_batch=1)
    try:
        future = pool.submit(s, MODEL, batch)  # waits for the worker's start, then goes there
        assert future is not None and pool.batches == 1
        there = future.result(timeout=90)
    finally:
        pool.close()
    assert [comparable(p) for p in there] == [comparable(p) for p in expected]
    # the batch held what must be covered: garbage, a secret, an agent, FAQ links
    assert there[40].mail is not None and there[40].error is None  # parsing is total
    assert there[41].exposure.kinds and "[redacted" in (
        there[41].mail.text if there[41].mail else ""
    )
    assert there[42].agent and there[42].classification is None
    assert any(p.faq for p in there)
    assert {p.classification.model_version for p in there if p.classification} == {model.version}


def test_a_worker_that_does_not_start_in_time_is_given_up_for_a_while() -> None:
    pool = PreparePool(min_batch=1, warm_wait=0.0)
    try:
        assert pool.submit(spec(), MODEL, rows()[:2]) is None  # not ready at once: here
        assert pool._executor is None  # stopped, not left to hold memory
        assert pool.submit(spec(), MODEL, rows()[:2]) is None  # and not retried at once
        assert pool._executor is None and pool.batches == 0
    finally:
        pool.close()


def test_small_batches_are_prepared_here_without_starting_a_worker() -> None:
    pool = PreparePool(min_batch=16)
    assert pool.submit(spec(), MODEL, rows()[:15]) is None
    assert pool._executor is None  # nothing was started


def processor(store: Store, offload: Offload, clock: FrozenClock, batch: int) -> Processor:
    windows = {u: 24.0 for u in URGENCIES}
    config = ProcessConfig(
        sender=Sender("support@example-exchange.com", "Support", None),
        own_addresses=("support@example-exchange.com",),
        sla=SlaPolicy(Windows(windows, windows), ALWAYS_OPEN),
        classify_policy=ClassifyPolicy(LANGUAGES, "en", urgencies=URGENCIES),
        ref_prefix="MB",
        batch=batch,
    )
    return Processor(
        store,
        model=lambda: load_model(MODEL, categories=CATEGORIES, urgencies=URGENCIES),
        detect_language=make_detector(LANGUAGES),
        renderer=FileTemplates(shipped("templates"), default_language="en"),
        config=config,
        clock=clock,
        offload=offload,
    )


def customer_mail(i: int) -> bytes:
    return (
        f"From: Customer {i} <c{i}@customer.test>\r\nSubject: Deposit {i} not credited\r\n"
        f"Message-ID: <d{i}@customer.test>\r\n\r\n"
        f"I sent 0.{i} BTC two hours ago and it is still not in my account.\r\n"
    ).encode()


def store_mails(store: Store, n: int) -> None:
    mails = [FetchedMail("a", "INBOX", 1, i + 1, customer_mail(i)) for i in range(n)]
    ids = [message_id_of(m.raw) for m in mails]
    store.store_fetched("a", "INBOX", 1, mails, ids, now=WHEN)


@pytest.mark.parametrize("broken", [False, True], ids=["worker", "worker-cannot-load-model"])
def test_batches_through_the_worker_all_become_tickets(store: Store, broken: bool) -> None:
    """Several batches, each prepared in the worker while the one before is stored; a worker
    that cannot load the model costs only the offload: the batches are prepared here."""
    store_mails(store, 7)
    pool = PreparePool(min_batch=1)
    model_dir = Path("/nonexistent/model") if broken else MODEL
    proc = processor(store, Offload(pool, spec(faq=False), lambda: model_dir), FrozenClock(WHEN), 3)
    warm = pool.warm_up(spec(faq=False), model_dir)
    assert (warm.exception(timeout=90) is not None) == broken
    try:
        assert asyncio.run(proc.process_pending()) == 7
        assert pool.batches == (0 if broken else 3)
    finally:
        pool.close()
    with Session(store.engine) as s:
        tickets = s.exec(select(Ticket)).all()
        assert len(tickets) == 7
        assert {t.category for t in tickets} == {"deposit_withdrawal"}
        assert {t.model_version for t in tickets} == {read_metadata(MODEL).version}
        assert {m.status for m in s.exec(select(InboxMessage)).all()} == {"processed"}


WORKER_SCRIPT = """
import sys
from datetime import UTC, datetime
from pathlib import Path
sys.path.insert(0, {root!r})
from tests.integration.test_prepare_worker import MODEL, rows, spec
from mailbot.runners.preparepool import PreparePool

if __name__ == "__main__":  # spawn runs this file again in the worker, as __mp_main__
    pool = PreparePool(min_batch=1)
    pool.warm_up(spec(faq=False), MODEL).result(timeout=90)
    pool.submit(spec(faq=False), MODEL, rows()[:3]).result(timeout=90)
    print(*pool._executor._processes, flush=True)
    sys.stdin.read()
"""


def test_the_worker_exits_when_the_daemon_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(WORKER_SCRIPT.format(root=str(ROOT))))
    with subprocess.Popen(
        [sys.executable, str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # multiprocessing's resource tracker warns after the kill
    ) as parent:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline().split()[0])
        os.kill(worker, 0)  # alive
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _alive(worker):
            time.sleep(0.1)
        assert not _alive(worker), "the worker outlived its killed parent"


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


# What the worker imports to unpickle its start-up call and batches, and to prepare them.
WORKER_MODULES = (
    "mailbot.runners.preparepool",
    "mailbot.adapters.modelstore",
    "mailbot.adapters.knowledge",
    "mailbot.adapters.language",
    "mailbot.core.faq",
)
HEAVY = (
    "sqlalchemy",
    "sqlmodel",
    "pydantic",
    "jinja2",
    "babel",
    "aioimaplib",
    "aiosmtplib",
    "sklearn",
    "scipy",
    "skops",
)


def test_the_worker_imports_nothing_it_does_not_use() -> None:
    """Its memory counts against the daemon's: no database, templates or settings."""
    code = (
        f"import sys\nfor m in {WORKER_MODULES!r}: __import__(m)\n"
        f"print(sorted({{n.split('.')[0] for n in sys.modules}} & set({HEAVY!r})))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == "[]"


def test_a_malformed_article_still_fails_the_start_when_the_worker_builds_the_index(
    tmp_path: Path,
) -> None:
    """The FAQ index is built in the worker, but the daemon reads the articles at start, so a
    broken one is named there (not found batch after batch once mail arrives)."""
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n", encoding="utf-8")
    config = write_offline_config(tmp_path, f'[replies]\nfaq_dir = "{kb}"\n')
    with pytest.raises(TemplateError, match=r"broken\.md"):
        build(load_settings(config))


def test_a_worker_whose_start_up_fails_costs_only_the_offload(tmp_path: Path) -> None:
    """The worker's start-up fails (here: a malformed article it must index): warm_up says
    so, naming the cause, in its future instead of raising, and batches are prepared in this
    process."""
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n", encoding="utf-8")
    s = dataclasses.replace(spec(), faq_dir=kb)
    pool = PreparePool(min_batch=1)
    try:
        pool.start(s)
        first = pool.warm_up(s, MODEL)
        assert first.exception(timeout=90) is not None
        # Another model directory means a new submit to the broken pool: no raise either.
        again = pool.warm_up(s, tmp_path / "promoted")
        problem = again.exception(timeout=90)
        assert isinstance(problem, RuntimeError), problem
        assert "worker start-up failed" in str(problem) and "broken.md" in str(problem)
        assert pool.submit(s, MODEL, rows()[:2]) is None and pool.batches == 0
    finally:
        pool.close()


def test_a_worker_that_cannot_be_spawned_never_fails_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mailbot.runners import preparepool

    class NoProcesses:
        def __init__(self, *_args: object, **_kwargs: object) -> None:
            raise OSError("fork/exec refused")

    monkeypatch.setattr(preparepool, "ProcessPoolExecutor", NoProcesses)
    pool = PreparePool(min_batch=1)
    pool.start(spec())  # logged, not raised
    assert pool.warm_up(spec(), MODEL).exception() is not None
    assert pool.submit(spec(), MODEL, rows()[:2]) is None and pool.batches == 0
