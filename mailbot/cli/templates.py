"""`mailbot templates check|preview`: what an admin runs before saving a template edit."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import click

from mailbot.adapters.knowledge import load_articles
from mailbot.adapters.templates import SPECIAL, FileTemplates, Problem, check_templates
from mailbot.cli.common import EXIT_RUNTIME, config_option, default_config_path, exits, load
from mailbot.core.faq import FaqIndex
from mailbot.core.parse import parse
from mailbot.core.render import AckExtras, Sender, customer_zone, render_ack, sample_contexts
from mailbot.core.sla import promise
from mailbot.domain import TicketView
from mailbot.errors import InputError, TemplateError
from mailbot.resources import shipped
from mailbot.settings import Settings, SlaSettings, TaxonomySettings


@click.group()
def templates() -> None:
    """Check and preview reply templates."""


@templates.command()
@config_option
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    help="Templates folder (default: paths.templates_dir of the config, else the shipped one).",
)
@exits
def check(config_path: Path | None, directory: Path | None) -> None:
    """Render every template for every category x language; exit 1 on any error."""
    settings = _settings(config_path)
    taxonomy = settings.taxonomy if settings else TaxonomySettings()
    root = directory or (settings.templates_dir if settings else shipped("templates"))
    now = datetime.now(UTC)
    problems = check_templates(
        root,
        categories=taxonomy.categories,
        languages=taxonomy.languages,
        samples=lambda lang, name: sample_contexts(lang, name, received=now),
    )
    problems += _article_problems(root / "kb", taxonomy.languages)
    for problem in problems:
        click.echo(str(problem))
    errors = sum(p.error for p in problems)
    checked = len(taxonomy.languages) * (len(taxonomy.categories) + 1 + len(SPECIAL))
    click.echo(
        f"{root}: {checked} templates x 2 parts in {len(taxonomy.languages)} languages; "
        f"{errors} error(s), {len(problems) - errors} warning(s)"
    )
    if errors:
        sys.exit(EXIT_RUNTIME)


@templates.command()
@config_option
@click.option(
    "--category", required=True, help="A category of the taxonomy, 'default' or 'reopened'."
)
@click.option("--lang", "language", required=True, help="A configured language, e.g. ko.")
@click.option("--urgency", default="normal", show_default=True)
@click.option(
    "--email",
    "email_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="A customer email (.eml) to answer; default: a sample.",
)
@click.option("--dir", "directory", type=click.Path(path_type=Path, file_okay=False))
@exits
def preview(
    config_path: Path | None,
    category: str,
    language: str,
    urgency: str,
    email_file: Path | None,
    directory: Path | None,
) -> None:
    """Print the acknowledgement as the customer would get it (headers, text and HTML)."""
    settings = _settings(config_path)
    taxonomy = settings.taxonomy if settings else TaxonomySettings()
    names = ["default", *SPECIAL, *taxonomy.categories]
    if category not in names:
        raise InputError(f"--category {category!r} is not in {names}")
    if urgency not in taxonomy.urgencies:
        raise InputError(f"--urgency {urgency!r} is not in {taxonomy.urgencies}")
    root = directory or (settings.templates_dir if settings else shipped("templates"))
    sla = settings.sla if settings else SlaSettings()
    now = datetime.now(UTC)
    mail = parse(email_file.read_bytes()) if email_file else None
    view = TicketView(
        ref="MB-000123",
        customer_address=(mail.from_address if mail else "") or "jane@example.com",
        customer_name=mail.from_name if mail else "Jane Doe",
        subject=mail.subject if mail else "Deposit not credited",
        category=category,
        urgency=urgency,
        language=language,
        received_at=now,
        first_response_due=now,
    )
    promised = promise(
        sla.policy(), received=now, category=category, urgency=urgency, sender=view.customer_address
    )
    articles = FaqIndex(load_articles(root / "kb"))
    text = f"{mail.subject}\n{mail.new_text or mail.text}" if mail else view.subject
    extras = AckExtras(
        promise=promised,
        zone=customer_zone(
            mail.date if mail else None,
            language,
            language_zones=sla.language_timezones,
            calendar_zone=sla.timezone,
        ),
        faq=articles.suggest(text, language),
        help_url=settings.replies.help_url if settings else "",
        needs_triage=category == "default",
    )
    smtp = settings.smtp if settings else None
    out = render_ack(
        view,
        renderer=FileTemplates(root, default_language=taxonomy.default_language),
        template=category,
        sender=Sender(
            smtp.from_address if smtp else "support@example.com",
            smtp.from_name if smtp else "Support",
            smtp.reply_to if smtp else None,
        ),
        in_reply_to=(mail.message_id if mail else "") or "<customer-1@example.com>",
        references=mail.references if mail else (),
        now=now,
        extras=extras,
    )
    click.echo(_readable(out.raw))


def _settings(config_path: Path | None) -> Settings | None:
    """The config when there is one; templates can be checked without a deployment."""
    if config_path is None and not default_config_path().is_file():
        return None
    return load(config_path)


def _article_problems(root: Path, languages: list[str]) -> list[Problem]:
    try:
        articles = load_articles(root)
    except TemplateError as exc:
        return [Problem("kb", str(exc))]
    return [
        Problem(f"kb/{a.language}/{a.slug}.md", f"language {a.language!r} is not configured", False)
        for a in articles
        if a.language not in languages
    ]


def _readable(raw: bytes) -> str:
    """Headers, then each part decoded (the wire form is base64 / quoted-printable)."""
    msg: Any = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    lines = [f"{name}: {value}" for name, value in msg.items()]
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            lines += ["", f"----- {part.get_content_type()} -----", part.get_content().rstrip()]
    return "\n".join(lines)
