"""`mailbot init [DIR]`: a starter config and an empty, migrated database."""

from __future__ import annotations

from pathlib import Path

import click

from mailbot.adapters.db import make_engine, migrate
from mailbot.cli.common import exits
from mailbot.errors import ConfigError
from mailbot.resources import shipped
from mailbot.settings import load_settings


@click.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False), default=".")
@exits
def init(directory: Path) -> None:
    """Write DIR/mailbot.toml (from the documented example) and create the database."""
    target = directory / "mailbot.toml"
    if target.exists():
        raise ConfigError(f"{target} already exists; not overwriting it")
    directory.mkdir(parents=True, exist_ok=True)
    example = (shipped("config") / "mailbot.example.toml").read_text(encoding="utf-8")
    target.write_text(example, encoding="utf-8")
    settings = load_settings(target, environ={})
    engine = make_engine(settings.database_url)
    migrate(engine)
    engine.dispose()
    click.echo(f"wrote {target}")
    click.echo(f"database ready: {settings.database_url}")
    click.echo("edit the [imap] and [smtp] tables, then: mailbot run --config " + str(target))
