"""The `mailbot` command."""

from __future__ import annotations

import click

from mailbot import __version__
from mailbot.cli.doctor import doctor
from mailbot.cli.init import init
from mailbot.cli.models import evaluate, label, models, train
from mailbot.cli.quarantine import quarantine, reprocess
from mailbot.cli.report import report
from mailbot.cli.run import run
from mailbot.cli.templates import templates
from mailbot.cli.tickets import tickets


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mailbot")
def cli() -> None:
    """mailbot: email-support automation daemon."""


cli.add_command(init)
cli.add_command(run)
cli.add_command(tickets)
cli.add_command(quarantine)
cli.add_command(reprocess)
cli.add_command(train)
cli.add_command(evaluate)
cli.add_command(models)
cli.add_command(label)
cli.add_command(report)
cli.add_command(templates)
cli.add_command(doctor)


def main() -> None:
    cli()
