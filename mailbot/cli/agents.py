"""`mailbot tickets respond|close|reopen|assign REF`: what agents record by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from mailbot.adapters.db import make_engine
from mailbot.adapters.workflow import UnknownTicket, Workflow
from mailbot.cli.common import config_option, exits, load
from mailbot.errors import MailbotError


def _workflow(config_path: Path | None) -> Workflow:
    settings = load(config_path)
    return Workflow(make_engine(settings.database_url, create=False))


def _run(config_path: Path | None, action: str, ref: str, *extra: str) -> None:
    workflow = _workflow(config_path)
    now = datetime.now(UTC)
    try:
        if action == "assign":
            ticket = workflow.assign(ref, extra[0], now=now)
        else:
            ticket = getattr(workflow, action)(ref, now=now)
    except UnknownTicket as exc:
        raise MailbotError(str(exc)) from None
    assigned = f", assigned to {ticket.assignee}" if ticket.assignee else ""
    click.echo(f"{ticket.ref}: {ticket.status}{assigned}")


def register(group: click.Group) -> None:
    @group.command("respond")
    @click.argument("ref")
    @config_option
    @exits
    def respond(ref: str, config_path: Path | None) -> None:
        """An agent answered outside mailbot: the first-response promise is kept."""
        _run(config_path, "respond", ref)

    @group.command("close")
    @click.argument("ref")
    @config_option
    @exits
    def close(ref: str, config_path: Path | None) -> None:
        """Resolved: escalations stop. A customer's follow-up re-opens it."""
        _run(config_path, "close", ref)

    @group.command("reopen")
    @click.argument("ref")
    @config_option
    @exits
    def reopen(ref: str, config_path: Path | None) -> None:
        """Open again; escalations resume."""
        _run(config_path, "reopen", ref)

    @group.command("assign")
    @click.argument("ref")
    @click.argument("who")
    @config_option
    @exits
    def assign(ref: str, who: str, config_path: Path | None) -> None:
        """Record who owns it (shown in escalation digests)."""
        _run(config_path, "assign", ref, who)
