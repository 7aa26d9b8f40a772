"""The sent journal's file: what is recorded is read back; a line cut short is not."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from mailbot.adapters.sentjournal import SentJournal, sent_journal

AT = datetime(2026, 11, 23, 9, 0, 0, 123456, tzinfo=UTC)


def test_recorded_lines_are_read_back_and_clear_empties_the_file(tmp_path: Path) -> None:
    journal = SentJournal(tmp_path / "mailbot.db-sent")
    with pytest.raises(OSError, match="not held"):
        journal.record(1, AT)
    assert journal.acquire() and journal.read() == {}  # a new, empty file
    journal.record(7, AT)
    journal.record(9, AT + timedelta(seconds=1))
    journal.close()
    assert journal.acquire()
    assert journal.read() == {7: AT, 9: AT + timedelta(seconds=1)}
    journal.clear()
    assert journal.read() == {} and journal.path.stat().st_size == 0
    journal.record(11, AT)  # appends after the truncation, from the start of the file
    assert journal.read() == {11: AT}
    journal.close()


def test_a_line_cut_short_by_a_crash_is_cut_off_and_the_next_one_stands_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "mailbot.db-sent"
    path.write_bytes(f"3 {AT.isoformat()}\nnonsense\n1".encode())
    journal = SentJournal(path)
    assert journal.acquire() and journal.read() == {3: AT}
    warned = [r.getMessage() for r in caplog.records]
    assert any(":2 ignored" in m for m in warned) and any("cut-short" in m for m in warned)
    journal.record(23, AT)  # not glued onto the "1" into a row 123
    assert journal.read() == {3: AT, 23: AT}


def test_a_short_write_leaves_the_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = SentJournal(tmp_path / "mailbot.db-sent")
    assert journal.acquire()
    journal.record(1, AT)
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, data[:5]))
    with pytest.raises(OSError, match="short write"):
        journal.record(2, AT)
    monkeypatch.undo()
    journal.record(3, AT)
    assert journal.read() == {1: AT, 3: AT}


def test_one_process_at_a_time_holds_the_journal(tmp_path: Path) -> None:
    first, second = SentJournal(tmp_path / "db-sent"), SentJournal(tmp_path / "db-sent")
    assert first.acquire() and not second.acquire() and not second.held
    first.close()
    assert second.acquire() and second.held
    second.close()


def test_only_an_sqlite_file_gets_a_journal_beside_it(tmp_path: Path) -> None:
    journal = sent_journal(create_engine(f"sqlite:///{tmp_path / 'state' / 'mailbot.db'}"))
    assert journal is not None and journal.path == tmp_path / "state" / "mailbot.db-sent"
    assert sent_journal(create_engine("sqlite://")) is None
    assert sent_journal(create_engine("postgresql+pg8000://u@localhost/db")) is None
