"""`mailbot report`: volume, response times, SLA compliance, escalations, for a period."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import click

from mailbot.adapters.db import make_engine
from mailbot.adapters.reporting import load_report_rows
from mailbot.cli.common import config_option, exits, load
from mailbot.core.report import Report, build_report, period
from mailbot.errors import InputError, MailbotError

DAY = click.DateTime(formats=["%Y-%m-%d"])


@click.command("report")
@config_option
@click.option("--since", type=DAY, default=None, help="First day (UTC), inclusive.")
@click.option("--until", type=DAY, default=None, help="Last day (UTC), inclusive.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "html"]), default="table")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the report to FILE instead of stdout.",
)
@exits
def report(
    config_path: Path | None,
    since: datetime | None,
    until: datetime | None,
    fmt: str,
    out: Path | None,
) -> None:
    """Figures for tickets received in a period (default: the last 30 days)."""
    settings = load(config_path)
    now = datetime.now(UTC)
    try:
        start, end = period(
            since.date() if since else None, until.date() if until else None, now=now
        )
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    engine = make_engine(settings.database_url, create=False)
    try:
        rows = load_report_rows(engine, since=start, until=end, now=now)
    finally:
        engine.dispose()
    result = build_report(
        rows, since=start, until=end, now=now, urgency_order=settings.taxonomy.urgencies
    )
    text = render(result, fmt)
    if out is None:
        click.echo(text)
        return
    _write(out, text)
    click.echo(f"mailbot: wrote {out}", err=True)


def render(result: Report, fmt: str) -> str:
    """The report in one of the three formats (matplotlib is loaded only for html)."""
    if fmt == "json":
        from mailbot.reports.document import to_document

        return json.dumps(to_document(result), ensure_ascii=False, indent=2)
    if fmt == "html":
        from mailbot.reports.html import render_html

        return render_html(result)
    from mailbot.reports.text import render_text

    return render_text(result)


def _write(path: Path, text: str) -> None:
    """Whole or not at all: a half-written report never replaces a good one."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise MailbotError(f"cannot write {path}: {exc.strerror or exc}") from exc
