"""The raw archive of a message that held a secret: encrypted with the configured key, or
dropped; a wrong or missing key never yields the bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailbot.adapters.archive import Archive, RawState, archive_from, new_key
from mailbot.errors import ConfigError
from mailbot.settings import SecuritySettings

RAW = b"Subject: help\r\n\r\nmy seed is abandon abandon ... about\r\n"


def test_sealed_bytes_do_not_contain_the_message_and_open_with_the_key() -> None:
    archive = Archive(new_key().encode())
    sealed, state = archive.seal(RAW)
    assert state is RawState.ENCRYPTED and b"seed" not in sealed
    assert archive.unseal(sealed, state) == RAW
    assert Archive(new_key().encode()).unseal(sealed, state) is None  # another key
    assert Archive(None).unseal(sealed, state) is None


def test_without_a_key_the_bytes_are_dropped() -> None:
    sealed, state = Archive(None).seal(RAW)
    assert (sealed, state) == (b"", RawState.DROPPED)
    assert Archive(None).unseal(sealed, state) is None
    assert Archive(None).unseal(RAW, RawState.PLAIN) == RAW


def test_key_from_the_environment_or_a_file(tmp_path: Path) -> None:
    key = new_key()
    assert archive_from(SecuritySettings(archive_key=key)).encrypts  # type: ignore[arg-type]
    (tmp_path / "k").write_text(key + "\n")
    assert archive_from(SecuritySettings(archive_key_file=tmp_path / "k")).encrypts
    assert not archive_from(SecuritySettings()).encrypts
    with pytest.raises(ConfigError, match="not a Fernet key"):
        archive_from(SecuritySettings(archive_key="short"))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="cannot read"):
        archive_from(SecuritySettings(archive_key_file=tmp_path / "missing"))
