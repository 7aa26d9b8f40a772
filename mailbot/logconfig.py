"""Logging on stderr as text or JSON lines, tagged with the mailbox, ticket or message at hand.

Fields come from `extra={"ref": ...}` on a call, or from `log_context(...)`/`bind(...)`, a
contextvar that follows an asyncio task and the worker threads it starts with to_thread.
Configured secrets (the IMAP/SMTP passwords) are masked in every line as a last line of defence;
the code itself never logs them, nor message bodies.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from mailbot.settings import Settings

LogFormat = Literal["text", "json"]

# The order in which fields appear on a text line and in a JSON object.
FIELDS = ("mailbox", "ref", "message_id", "outbox_id", "inbox_id")

# Libraries that log protocol traffic (commands, literals, message data) at DEBUG: they stay at
# WARNING even when mailbot itself logs at DEBUG, so no password or message body is written.
QUIET = ("aioimaplib", "aiosmtplib", "apscheduler", "alembic", "mail.log", "sqlalchemy")

_NO_FIELDS: Mapping[str, object] = MappingProxyType({})
_context: ContextVar[Mapping[str, object]] = ContextVar("mailbot_log_context", default=_NO_FIELDS)


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Tag every line logged inside the block (in this task or thread) with `fields`."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def bind(**fields: object) -> None:
    """Tag every later line of the current task (or thread) with `fields`."""
    _context.set({**_context.get(), **fields})


class ContextFilter(logging.Filter):
    """Copies the contextvar's fields onto the record unless the call's `extra` set them."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def record_fields(record: logging.LogRecord) -> dict[str, object]:
    return {key: getattr(record, key) for key in FIELDS if getattr(record, key, None) is not None}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, the known fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **record_fields(record),
        }
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message [mailbox=... ref=...]`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        text = super().formatMessage(record)
        fields = record_fields(record)
        if fields:
            text += " [" + " ".join(f"{k}={v}" for k, v in fields.items()) + "]"
        return text


class MaskingFormatter(logging.Formatter):
    """Wraps a formatter and replaces each secret in its output with '***'."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self._inner = inner
        # Very short values would mask ordinary words; such a password is a problem of its own.
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        text = self._inner.format(record)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def configure(level: str = "INFO", fmt: LogFormat = "text", secrets: Iterable[str] = ()) -> None:
    """(Re)configure the root logger: one stderr handler; safe to call again on reload."""
    inner: logging.Formatter = JsonFormatter() if fmt == "json" else TextFormatter()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(MaskingFormatter(inner, secrets))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
    quiet = max(logging.WARNING, logging.getLevelName(level))
    for name in QUIET:
        logging.getLogger(name).setLevel(quiet)


def configure_from(settings: Settings) -> None:
    """Logging as [logging] says, masking every configured password."""
    configure(settings.logging.level, settings.logging.format, secrets_of(settings))


def secrets_of(settings: Settings) -> list[str]:
    """The passwords in `settings` (from the file or MAILBOT_*_PASSWORD)."""
    values = [settings.imap.password, settings.smtp.password]
    values += [box.password for box in settings.mailboxes]
    return [v.get_secret_value() for v in values if v is not None]
