"""The `mailbot` command. Subcommands are imported only when used: importing all of them
(scikit-learn, matplotlib, SQLAlchemy...) cost every call about a second."""

from __future__ import annotations

import importlib
from typing import Any

import click

from mailbot import __version__

# name -> "module:attribute", in the order `mailbot --help` lists them.
COMMANDS = {
    "init": "mailbot.cli.init:init",
    "run": "mailbot.cli.run:run",
    "doctor": "mailbot.cli.doctor:doctor",
    "tickets": "mailbot.cli.tickets:tickets",
    "quarantine": "mailbot.cli.quarantine:quarantine",
    "reprocess": "mailbot.cli.quarantine:reprocess",
    "report": "mailbot.cli.report:report",
    "templates": "mailbot.cli.templates:templates",
    "train": "mailbot.cli.models:train",
    "evaluate": "mailbot.cli.models:evaluate",
    "models": "mailbot.cli.models:models",
    "label": "mailbot.cli.models:label",
    "security": "mailbot.cli.security:security",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attribute = target.partition(":")
        command: Any = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mailbot")
def cli() -> None:
    """mailbot: email-support automation daemon."""


def main() -> None:
    cli()
