"""`mailbot run [--once]`: the daemon."""

from __future__ import annotations

import asyncio
import functools
import sys
from pathlib import Path

import click

from mailbot.adapters.runlock import RunLock
from mailbot.adapters.systemd import Notifier
from mailbot.cli.common import config_option, default_config_path, exits, load
from mailbot.cli.doctor import smtp_login
from mailbot.logconfig import configure_from
from mailbot.runners.app import build, run_forever, run_once
from mailbot.settings import load_settings


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
    try:
        app = build(settings, worker=not once)
        if once:
            code = asyncio.run(run_once(app))
        else:
            # READY=1 waits for every mailbox (the ingest loops) and for an SMTP login.
            smtp = ("SMTP", functools.partial(smtp_login, settings.smtp))
            reload = functools.partial(load_settings, path)
            daemon = run_forever(app, notifier=notifier, ready_checks=[smtp], reload=reload)
            code = asyncio.run(daemon)
    finally:
        lock.release()
    sys.exit(code)
