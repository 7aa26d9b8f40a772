"""`mailbot run [--once]`: the daemon."""

from __future__ import annotations

import asyncio
import functools
import sys
from pathlib import Path

import click

from mailbot.adapters.memory import limit_malloc_arenas
from mailbot.adapters.runlock import RunLock
from mailbot.adapters.systemd import Notifier
from mailbot.cli.common import config_option, default_config_path, exits, load
from mailbot.logconfig import configure_from
from mailbot.runners.preparepool import PreparePool
from mailbot.settings import Settings, load_settings


@click.command()
@config_option
@click.option(
    "--once", is_flag=True, help="Process what is in the mailbox now, drain the outbox, exit."
)
@exits
def run(config_path: Path | None, once: bool) -> None:
    """Run the daemon (or one pass with --once)."""
    path = config_path or default_config_path()
    settings = load(path)
    configure_from(settings)
    notifier = Notifier.from_environment()  # systemd's Type=notify; a no-op elsewhere
    lock = RunLock(settings.state_dir)
    lock.acquire()
    pool = _spawn_worker(settings, once)
    try:
        code = _run(settings, path, once, notifier, pool)
    finally:
        if pool is not None:
            pool.close()
        lock.release()
    sys.exit(code)


def _spawn_worker(settings: Settings, once: bool) -> PreparePool | None:
    """The prepare worker, spawned before this process imports the rest of the daemon (the
    database, IMAP, SMTP, templates): both import at once, on two cores, and the first batch
    finds the worker ready sooner. `--once` prepares in this process: one pass is over before
    a worker would be of use."""
    if once or not settings.processing.workers:
        return None
    limit_malloc_arenas()  # before the pool's threads exist
    pool = PreparePool(min_batch=settings.processing.worker_min_batch)
    pool.start()
    return pool


def _run(
    settings: Settings, path: Path, once: bool, notifier: Notifier, pool: PreparePool | None
) -> int:
    from mailbot.cli.doctor import smtp_login
    from mailbot.runners.app import build, run_forever, run_once

    app = build(settings, worker=not once, pool=pool)
    if once:
        return asyncio.run(run_once(app))
    # READY=1 waits for every mailbox (the ingest loops) and for an SMTP login.
    smtp = ("SMTP", functools.partial(smtp_login, settings.smtp))
    reload = functools.partial(load_settings, path)
    daemon = run_forever(app, notifier=notifier, ready_checks=[smtp], reload=reload)
    return asyncio.run(daemon)
