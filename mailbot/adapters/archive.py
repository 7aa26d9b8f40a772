"""The raw archive of a message that contained a secret: encrypted at rest, or dropped.

Every fetched message is archived as raw bytes (inbox.raw) before it is parsed, so
that nothing is lost. When processing finds a recovery phrase, a key or a password in it, the
same transaction replaces those bytes: with a Fernet token (AES-128-CBC + HMAC-SHA256, from
`cryptography`) when a key is configured, else with nothing. The stored text of the ticket
only ever holds the redacted version.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING

from mailbot.errors import ConfigError
from mailbot.settings import SecuritySettings

if TYPE_CHECKING:
    from cryptography.fernet import Fernet


class RawState(enum.StrEnum):
    PLAIN = ""
    ENCRYPTED = "fernet"
    DROPPED = "dropped"


class Archive:
    def __init__(self, key: bytes | None) -> None:
        self._fernet: Fernet | None = None
        if key:
            # Imported only with a key: OpenSSL's bindings are ~6 MB a daemon without one
            # would carry for months.
            from cryptography.fernet import Fernet

            self._fernet = Fernet(key)

    @property
    def encrypts(self) -> bool:
        return self._fernet is not None

    def seal(self, raw: bytes) -> tuple[bytes, RawState]:
        """What to store instead of `raw`, and how it was stored."""
        if self._fernet is None:
            return b"", RawState.DROPPED
        return self._fernet.encrypt(raw), RawState.ENCRYPTED

    def unseal(self, stored: bytes, state: str) -> bytes | None:
        """The raw bytes back, or None when they were dropped or the key cannot open them."""
        if state == RawState.PLAIN:
            return stored
        if state != RawState.ENCRYPTED or self._fernet is None:
            return None
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(stored)
        except InvalidToken:
            return None


def new_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def archive_from(settings: SecuritySettings) -> Archive:
    """The configured key (MAILBOT_ARCHIVE_KEY, else archive_key_file), checked at start."""
    key: str | None = None
    if settings.archive_key is not None:
        key = settings.archive_key.get_secret_value()
    elif settings.archive_key_file is not None:
        key = _read_key(settings.archive_key_file)
    if key is None:
        return Archive(None)
    try:
        return Archive(key.strip().encode())
    except ValueError:
        raise ConfigError(
            "security archive key: not a Fernet key (32 url-safe base64-encoded bytes; "
            "make one with `mailbot security new-key`)"
        ) from None


def _read_key(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"security.archive_key_file {path}: cannot read: {exc}") from None
