"""`mailbot quarantine list|show|retry` and `mailbot reprocess REF`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from tabulate import tabulate

from mailbot.adapters.db import make_engine
from mailbot.adapters.operator import QuarantineStore
from mailbot.adapters.store import Store
from mailbot.adapters.tables import InboxMessage
from mailbot.cli.common import config_option, exits, load
from mailbot.cli.tickets import FORMAT, iso
from mailbot.core.parse import parse
from mailbot.errors import MailbotError


def _operator(config_path: Path | None) -> tuple[QuarantineStore, int]:
    """The operator store and the configured parse size limit."""
    settings = load(config_path)
    store = QuarantineStore(Store(make_engine(settings.database_url, create=False)))
    return store, settings.tickets.max_message_bytes


def _row(r: InboxMessage) -> dict[str, Any]:
    return {
        "id": r.id,
        "fetched_at": iso(r.fetched_at),
        "mailbox": r.mailbox,
        "uid": r.uid,
        "message_id": r.message_id,
        "size": r.size,
        "reason": r.reason,
    }


@click.group()
def quarantine() -> None:
    """Messages that could not be processed, with the reason."""


@quarantine.command("list")
@config_option
@FORMAT
@exits
def list_(config_path: Path | None, fmt: str) -> None:
    """Quarantined messages, oldest first."""
    rows = [_row(r) for r in _operator(config_path)[0].quarantined()]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    elif rows:
        click.echo(
            tabulate(
                [[r["id"], r["fetched_at"], r["size"], r["reason"][:80]] for r in rows],
                headers=["id", "fetched_at", "size", "reason"],
            )
        )
    else:
        click.echo("quarantine is empty")


@quarantine.command("show")
@click.argument("inbox_id", type=int)
@config_option
@FORMAT
@exits
def show(inbox_id: int, config_path: Path | None, fmt: str) -> None:
    """One quarantined message: the reason and the parsed headers of its archived bytes."""
    operator, max_bytes = _operator(config_path)
    row = operator.inbox_row(inbox_id)
    if row is None:
        raise MailbotError(f"no inbox message {inbox_id}")
    mail = parse(row.raw, max_bytes=max_bytes)
    doc = _row(row) | {
        "status": row.status,
        "subject": mail.subject,
        "from": mail.from_address,
        "defects": list(mail.defects),
    }
    if fmt == "json":
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
    else:
        click.echo(tabulate(list(doc.items()), tablefmt="plain"))


@quarantine.command("retry")
@click.argument("inbox_ids", type=int, nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Retry every quarantined message.")
@config_option
@exits
def retry(inbox_ids: tuple[int, ...], everything: bool, config_path: Path | None) -> None:
    """Queue quarantined messages for processing again (by the daemon or `run --once`)."""
    if not inbox_ids and not everything:
        raise click.UsageError("name one or more IDs, or --all")
    done = _operator(config_path)[0].retry(
        None if everything else list(inbox_ids), now=datetime.now(UTC)
    )
    click.echo(f"queued {len(done)} message(s) for processing: {', '.join(map(str, done))}")
    skipped = sorted(set(inbox_ids) - set(done))
    if skipped:
        raise MailbotError(
            "not retried (no such quarantined message, or no bytes to retry): "
            + ", ".join(map(str, skipped))
        )


@click.command()
@click.argument("ref")
@config_option
@exits
def reprocess(ref: str, config_path: Path | None) -> None:
    """Rebuild a ticket's parsed messages from the archived raw bytes (after a parser fix)."""
    try:
        operator, max_bytes = _operator(config_path)
        count = operator.reparse_ticket(
            ref, lambda raw: parse(raw, max_bytes=max_bytes), now=datetime.now(UTC)
        )
    except LookupError:
        raise MailbotError(f"no ticket {ref}") from None
    click.echo(f"{ref}: re-parsed {count} message(s)")
