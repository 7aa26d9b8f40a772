"""`mailbot security new-key`: the key that encrypts raw mail which contained a secret."""

from __future__ import annotations

import click

from mailbot.adapters.archive import new_key


@click.group()
def security() -> None:
    """Protecting what customers expose: the archive key."""


@security.command("new-key")
def new_key_command() -> None:
    """Print a new Fernet key. Keep it outside the config file: put it in a file readable
    only by mailbot (security.archive_key_file) or in MAILBOT_ARCHIVE_KEY. Without it, the
    encrypted raw archives cannot be read again."""
    click.echo(new_key())
