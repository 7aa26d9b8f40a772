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


def _operator(config_path: Path | None) -> QuarantineStore:
    settings = load(config_path)
    return QuarantineStore(Store(make_engine(settings.database_url, create=False)))


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
    rows = [_row(r) for r in _operator(config_path).quarantined()]
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
    row = _operator(config_path).inbox_row(inbox_id)
    if row is None:
        raise MailbotError(f"no inbox message {inbox_id}")
    mail = parse(row.raw)
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
    done = _operator(config_path).retry(
        None if everything else list(inbox_ids), now=datetime.now(UTC)
    )
    click.echo(f"queued {len(done)} message(s) for processing: {', '.join(map(str, done))}")


@click.command()
@click.argument("ref")
@config_option
@exits
def reprocess(ref: str, config_path: Path | None) -> None:
    """Rebuild a ticket's parsed messages from the archived raw bytes (after a parser fix)."""
    try:
        count = _operator(config_path).reparse_ticket(ref, parse, now=datetime.now(UTC))
    except LookupError:
        raise MailbotError(f"no ticket {ref}") from None
    click.echo(f"{ref}: re-parsed {count} message(s)")
