"""`python -m mailbot` is the `mailbot` command."""

from mailbot.cli.main import main

if __name__ == "__main__":  # not when a spawned worker process imports it
    main()
