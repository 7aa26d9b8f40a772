"""mailbot: email-support automation daemon."""

__version__ = "0.1.0"
