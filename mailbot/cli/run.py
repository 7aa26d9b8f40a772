"""`mailbot run [--once]`: the daemon."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from mailbot.adapters.runlock import RunLock
from mailbot.cli.common import config_option, exits, load
from mailbot.runners.app import build, run_forever, run_once


@click.command()
@config_option
@click.option(
    "--once", is_flag=True, help="Process what is in the mailbox now, drain the outbox, exit."
)
@exits
def run(config_path: Path | None, once: bool) -> None:
    """Run the daemon (or one pass with --once)."""
    settings = load(config_path)
    lock = RunLock(settings.state_dir)
    lock.acquire()
    try:
        app = build(settings)
        code = asyncio.run(run_once(app) if once else run_forever(app))
    finally:
        lock.release()
    sys.exit(code)
