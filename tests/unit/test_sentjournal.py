"""The sent journal's file: what is recorded is read back; a line cut short is not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from mailbot.adapters.sentjournal import SentJournal, sent_journal

AT = datetime(2026, 11, 23, 9, 0, 0, 123456, tzinfo=UTC)


def test_recorded_lines_are_read_back_and_clear_empties_the_file(tmp_path: Path) -> None:
    journal = SentJournal(tmp_path / "mailbot.db-sent")
    assert journal.read() == {}  # no file yet
    journal.record(7, AT)
    journal.record(9, AT + timedelta(seconds=1))
    assert SentJournal(journal.path).read() == {7: AT, 9: AT + timedelta(seconds=1)}
    journal.clear()
    assert journal.read() == {} and journal.path.stat().st_size == 0
    journal.record(11, AT)  # appends after the truncation, from the start of the file
    assert journal.read() == {11: AT}
    journal.close()


def test_a_line_cut_short_by_a_crash_is_left_out_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "mailbot.db-sent"
    path.write_bytes(f"3 {AT.isoformat()}\nnonsense\n4 2026-11-2".encode())
    assert SentJournal(path).read() == {3: AT}
    warned = [r.getMessage() for r in caplog.records]
    assert any(":2 ignored" in m for m in warned) and any(
        ":3 ignored (cut short)" in m for m in warned
    )


def test_only_an_sqlite_file_gets_a_journal_beside_it(tmp_path: Path) -> None:
    journal = sent_journal(create_engine(f"sqlite:///{tmp_path / 'state' / 'mailbot.db'}"))
    assert journal is not None and journal.path == tmp_path / "state" / "mailbot.db-sent"
    assert sent_journal(create_engine("sqlite://")) is None
    assert sent_journal(create_engine("postgresql+pg8000://u@localhost/db")) is None
