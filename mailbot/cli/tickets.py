"""`mailbot tickets list|show`: readable tables, or one JSON document with --format json."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from tabulate import tabulate

from mailbot.adapters.db import make_engine
from mailbot.adapters.store import Store
from mailbot.adapters.tables import Outbox, Ticket, TicketMessage
from mailbot.cli.agents import register as register_agent_commands
from mailbot.cli.common import config_option, exits, load
from mailbot.errors import MailbotError

FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")


def _store(config_path: Path | None) -> Store:
    settings = load(config_path)
    engine = make_engine(settings.database_url, create=False)
    return Store(engine, ref_prefix=settings.tickets.ref_prefix)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC, e.g. 2026-11-22T09:30:00Z."""
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def ticket_summary(t: Ticket) -> dict[str, Any]:
    return {
        "ref": t.ref,
        "customer": t.customer_address,
        "customer_name": t.customer_name,
        "subject": t.subject,
        "category": t.category,
        "urgency": t.urgency,
        "language": t.language,
        "status": t.status,
        "needs_triage": t.needs_triage,
        "received_at": iso(t.received_at),
        "first_response_due": iso(t.first_response_due),
        "resolution_due": iso(t.resolution_due),
        "first_response_at": iso(t.first_response_at),
        "resolved_at": iso(t.resolved_at),
        "escalation_level": t.escalation_level,
        "assignee": t.assignee,
    }


@click.group()
def tickets() -> None:
    """Look at tickets."""


@tickets.command("list")
@config_option
@FORMAT
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@exits
def list_(config_path: Path | None, fmt: str, limit: int) -> None:
    """Newest tickets first."""
    rows = [ticket_summary(t) for t in _store(config_path).tickets(limit)]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    cols = [
        "ref",
        "received_at",
        "urgency",
        "category",
        "language",
        "status",
        "first_response_due",
        "customer",
        "subject",
    ]
    table = [[_clip(r[c]) for c in cols] for r in rows]
    click.echo(tabulate(table, headers=cols) if table else "no tickets yet")


@tickets.command("show")
@click.argument("ref")
@config_option
@FORMAT
@exits
def show(ref: str, config_path: Path | None, fmt: str) -> None:
    """One ticket with its messages, outbox and the classifier's explanation."""
    found = _store(config_path).ticket(ref)
    if found is None:
        raise MailbotError(f"no ticket {ref}")
    ticket, messages, outbox = found
    doc = ticket_summary(ticket) | {
        "classification": _explanation(ticket),
        "messages": [_message(m) for m in messages],
        "outbox": [_outbox(o) for o in outbox],
    }
    if fmt == "json":
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    click.echo(_show_text(doc))


def _explanation(t: Ticket) -> dict[str, Any]:
    try:
        detail: dict[str, Any] = json.loads(t.explanation) if t.explanation else {}
    except ValueError:
        detail = {}
    return {"model_version": t.model_version, "confidence": round(t.confidence, 3)} | detail


def _message(m: TicketMessage) -> dict[str, Any]:
    return {
        "direction": m.direction,
        "kind": m.kind,
        "message_id": m.message_id,
        "from": m.from_address,
        "subject": m.subject,
        "at": iso(m.created_at),
        "body": m.body,
    }


def _outbox(o: Outbox) -> dict[str, Any]:
    return {
        "kind": o.kind,
        "message_id": o.message_id,
        "to": o.recipients,
        "status": o.status,
        "attempts": o.attempts,
        "sent_at": iso(o.sent_at),
        "last_error": o.last_error,
    }


def _show_text(doc: dict[str, Any]) -> str:
    head = [
        (k, doc[k])
        for k in (
            "ref",
            "status",
            "customer",
            "customer_name",
            "subject",
            "category",
            "urgency",
            "language",
            "needs_triage",
            "received_at",
            "first_response_due",
            "resolution_due",
            "first_response_at",
            "escalation_level",
        )
    ]
    parts = [tabulate(head, tablefmt="plain")]
    cls = doc["classification"]
    parts.append(
        f"\nclassified by model {cls.get('model_version')} (confidence {cls.get('confidence')})"
    )
    parts.extend(f"  - {line}" for line in cls.get("reasons", []))
    parts.append("\nmessages:")
    for m in doc["messages"]:
        parts.append(f"  [{m['at']}] {m['direction']} {m['kind']} {m['message_id']}")
        if m["body"]:
            parts.append("    " + _clip(m["body"], 300).replace("\n", "\n    "))
    parts.append("\noutbox:")
    parts.extend(
        f"  {o['kind']} -> {o['to']}: {o['status']} (attempts {o['attempts']})"
        f"{' ' + o['last_error'] if o['last_error'] else ''}"
        for o in doc["outbox"]
    )
    return "\n".join(parts)


def _clip(value: Any, width: int = 48) -> Any:
    if isinstance(value, str) and len(value) > width:
        return value[: width - 1] + "…"
    return value


register_agent_commands(tickets)
