"""`mailbot doctor`: is this config ready to run? Each check is one line, with a fix when not.

    ok   config: /etc/mailbot/mailbot.toml
    FAIL imap support@example.com/INBOX: IMAP login as ...: NO [AUTHENTICATIONFAILED] ...; fix: ...

Exit 0 when every check passed, 1 otherwise. Passwords are never printed: every line is masked
with the configured secrets, and database URLs are shown without their password.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import aiosmtplib
import click
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from mailbot.adapters.db import alembic_config, make_engine
from mailbot.adapters.imap import ImapMailbox
from mailbot.adapters.modelregistry import ModelRegistry
from mailbot.adapters.modelstore import load_model
from mailbot.adapters.store import Store
from mailbot.adapters.templates import check_templates
from mailbot.adapters.tlsctx import client_context
from mailbot.cli.common import config_option, default_config_path
from mailbot.core.render import sample_contexts
from mailbot.errors import ConfigError, MailbotError
from mailbot.logconfig import configure, secrets_of
from mailbot.settings import ImapSettings, Settings, SmtpSettings, load_settings

T = TypeVar("T")


class CheckFailed(MailbotError):
    """A check did not pass: what is wrong (`str`) and how to fix it (`fix`)."""

    def __init__(self, detail: str, fix: str) -> None:
        super().__init__(detail)
        self.fix = fix


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        head = f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail.rstrip('.')}"
        return head if self.ok else f"{head}; fix: {self.fix}"


@click.command()
@config_option
def doctor(config_path: Path | None) -> None:
    """Check config, state dir, database, IMAP, SMTP, templates and model; say how to fix."""
    configure("WARNING")
    path = config_path or default_config_path()
    failed = False
    for result in run_checks(path):
        click.echo(result.line())
        failed = failed or not result.ok
    sys.exit(1 if failed else 0)


def run_checks(path: Path) -> Iterator[Result]:
    """Every check in order; stops after the config when it is unusable."""
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        yield Result("config", False, str(exc), f"edit {path} (see config/mailbot.example.toml)")
        return
    yield Result("config", True, str(path))
    mask = _masker(settings)
    yield mask(_check("state dir", lambda: state_dir(settings.state_dir)))
    db = _check("database", lambda: database(settings.database_url))
    engine = _existing_engine(settings.database_url) if db.ok else None
    yield mask(db)
    for box in settings.effective_mailboxes():
        yield mask(_check(f"imap {box.label}", _blocking(imap_login, box)))
    yield mask(_check("smtp", _blocking(smtp_login, settings.smtp)))
    yield mask(_check("templates", lambda: templates(settings)))
    yield mask(_check("model", lambda: model(settings, engine)))
    if engine is not None:
        engine.dispose()


def _blocking(check: Callable[[T], Coroutine[object, None, str]], arg: T) -> Callable[[], str]:
    return lambda: asyncio.run(check(arg))


def _existing_engine(url: str) -> Engine | None:
    try:
        return make_engine(url, create=False)
    except MailbotError:
        return None


def _check(name: str, run: Callable[[], str]) -> Result:
    try:
        return Result(name, True, run())
    except CheckFailed as exc:
        return Result(name, False, str(exc), exc.fix)
    except MailbotError as exc:
        return Result(name, False, str(exc), "see the message; `mailbot run` would fail the same")


def _masker(settings: Settings) -> Callable[[Result], Result]:
    secrets = [s for s in secrets_of(settings) if s]

    def mask(result: Result) -> Result:
        detail, fix = result.detail, result.fix
        for secret in secrets:
            detail, fix = detail.replace(secret, "***"), fix.replace(secret, "***")
        return Result(result.name, result.ok, detail, fix)

    return mask


def state_dir(path: Path) -> str:
    """Writable now, or creatable by `mailbot run`."""
    if path.is_dir():
        try:
            with tempfile.TemporaryFile(dir=path):
                pass
        except OSError as exc:
            raise CheckFailed(
                f"{path} is not writable: {exc.strerror}",
                "let the daemon's user write there (chown), or set paths.state_dir; under "
                'systemd use paths.state_dir = "/var/lib/mailbot" (StateDirectory=)',
            ) from None
        return f"{path} writable"
    parent = next(p for p in path.parents if p.exists())
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CheckFailed(
            f"{path} does not exist and {parent} is not writable",
            f"create {path} for the daemon's user, or set paths.state_dir",
        )
    return f"{path} does not exist yet; `mailbot run` creates it"


def database(url: str) -> str:
    """Reachable, and its schema at the newest migration."""
    # Imported here: `mailbot run` imports this module (smtp_login), and Alembic's ~11 MB
    # would stay in the daemon for good (its migrations run in a child process).
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    shown = make_url(url).render_as_string(hide_password=True)
    try:
        engine = make_engine(url, create=False)
    except MailbotError:  # only for an SQLite file that is not there
        return f"{shown} does not exist yet; `mailbot run` creates and migrates it"
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        raise CheckFailed(
            f"{shown}: cannot connect: {getattr(exc, 'orig', None) or exc}",
            "check database.url, and that the database server is running and reachable",
        ) from None
    finally:
        engine.dispose()
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    if current != head:
        raise CheckFailed(
            f"{shown}: schema at revision {current or '(empty)'}, the newest is {head}",
            "start `mailbot run` once (it migrates at start), or `mailbot init` a new one",
        )
    return f"{shown} at revision {head}"


async def imap_login(box: ImapSettings) -> str:
    """Connect, TLS as configured, log in, SELECT the folder, log out."""
    mailbox = ImapMailbox(box, box.account)
    try:
        await mailbox.connect()
        uidvalidity = mailbox.uidvalidity
    except MailbotError as exc:
        raise CheckFailed(str(exc), _imap_fix(str(exc), box)) from None
    finally:
        await mailbox.close()
    return f"{box.host}:{box.effective_port()} logged in as {box.username}, {box.folder} " + (
        f"selected (UIDVALIDITY {uidvalidity})"
    )


def _imap_fix(message: str, box: ImapSettings) -> str:
    if "login as" in message or "XOAUTH2" in message:
        if box.auth == "xoauth2":
            return "check imap.username and the token (oauth2_token_file/oauth2_token_command)"
        return "check imap.username and the password (MAILBOT_IMAP_PASSWORD or imap.password)"
    if "SELECT" in message:
        return f"check imap.folder: the server has no folder {box.folder!r} for this user"
    if "STARTTLS" in message or "SSL" in message or "certificate" in message:
        return "check imap.tls (ssl for port 993, starttls for 143) and imap.ca_file"
    return "check imap.host, imap.port and imap.tls, and that the server is reachable from here"


async def smtp_login(s: SmtpSettings) -> str:
    """Connect, TLS as configured, EHLO and log in, then QUIT without sending anything."""
    where = f"{s.host}:{s.effective_port()}"
    client = aiosmtplib.SMTP(
        hostname=s.host,
        port=s.effective_port(),
        use_tls=s.tls == "ssl",
        start_tls=s.tls == "starttls",
        tls_context=client_context(s.ca_file) if s.tls != "none" else None,
        timeout=s.timeout,
    )
    try:
        await client.connect()
        if client.is_ehlo_or_helo_needed:
            await client.ehlo()
        login = bool(s.username and s.password is not None)
        if login:
            assert s.password is not None
            await client.login(s.username, s.password.get_secret_value())
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise CheckFailed(
            f"SMTP {where}: login as {s.username} refused: {exc.code} {exc.message}",
            "check smtp.username and the password (MAILBOT_SMTP_PASSWORD or smtp.password)",
        ) from None
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise CheckFailed(f"SMTP {where}: {exc}", _smtp_fix(str(exc))) from None
    finally:
        await _quit(client)
    return f"{where} EHLO ok, " + (f"logged in as {s.username}" if login else "no login configured")


def _smtp_fix(message: str) -> str:
    if "TLS" in message or "SSL" in message or "certificate" in message:
        return "check smtp.tls (ssl for port 465, starttls for 587) and smtp.ca_file"
    return "check smtp.host, smtp.port and smtp.tls, and that the server is reachable from here"


async def _quit(client: aiosmtplib.SMTP) -> None:
    if not client.is_connected:
        return
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        client.close()


def templates(settings: Settings) -> str:
    """Every template renders for every category and language (templates.check_templates)."""
    root = settings.templates_dir
    tax = settings.taxonomy
    now = datetime.now(UTC)
    problems = check_templates(
        root,
        categories=tax.categories,
        languages=tax.languages,
        samples=lambda lang, name: sample_contexts(
            lang, name, received=now, team=settings.smtp.from_name
        ),
    )
    errors = [p for p in problems if p.error]
    if errors:
        raise CheckFailed(
            f"{len(errors)} error(s), the first: {errors[0]}",
            "`mailbot templates check` lists them all; see templates/README.md",
        )
    warned = len(problems) - len(errors)
    return f"{root}: every template renders in {', '.join(tax.languages)}" + (
        f" ({warned} warning(s): `mailbot templates check`)" if warned else ""
    )


def model(settings: Settings, engine: Engine | None) -> str:
    """The active model (recorded in the database; without one, the shipped default) loads
    against the configured taxonomy."""
    if engine is None:
        version, path = "default", settings.models_dir / "default"
    else:
        registry = ModelRegistry(
            Store(engine), shipped_dir=settings.models_dir, state_dir=settings.state_dir
        )
        version, path = registry.active()
    tax = settings.taxonomy
    try:
        loaded = load_model(path, categories=tax.categories, urgencies=tax.urgencies)
    except MailbotError as exc:
        raise CheckFailed(
            f"model {version} does not load: {exc}",
            "`mailbot models rollback`, or promote another with `mailbot models promote`",
        ) from None
    return f"{loaded.version} loads ({path})"
