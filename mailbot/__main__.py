"""`python -m mailbot` is the `mailbot` command."""

from mailbot.cli.main import main

main()
