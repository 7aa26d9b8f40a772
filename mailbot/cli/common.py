"""Shared CLI plumbing: --config, logging, error -> exit code mapping."""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from mailbot.errors import ConfigError, InputError, MailbotError
from mailbot.settings import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE = 0, 1, 2


def default_config_path() -> Path:
    return Path(os.environ.get("MAILBOT_CONFIG") or "mailbot.toml")


def config_option(fn: F) -> F:
    """--config FILE on every subcommand (default: $MAILBOT_CONFIG, else ./mailbot.toml)."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="Config file (default: $MAILBOT_CONFIG, else ./mailbot.toml).",
    )(fn)


def load(config_path: Path | None) -> Settings:
    settings = load_settings(config_path or default_config_path())
    setup_logging(settings.logging.level)
    return settings


def setup_logging(level: str = "INFO") -> None:
    """Logs go to stderr, so stdout stays a clean single document for --format json."""
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        force=True,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("aioimaplib", "apscheduler", "alembic", "aiosmtplib"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def exits(fn: F) -> F:
    """Map mailbot errors to exit codes with one clear line on stderr, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            click.echo(f"mailbot: config error: {exc}", err=True)
            sys.exit(EXIT_USAGE)
        except InputError as exc:
            click.echo(f"mailbot: {exc}", err=True)
            sys.exit(EXIT_USAGE)
        except MailbotError as exc:
            click.echo(f"mailbot: {exc}", err=True)
            sys.exit(EXIT_RUNTIME)

    return wrapper  # type: ignore[return-value]
