"""Write mailbot/adapters/migrations/sqlite_baseline.sql, the schema a new SQLite database
gets: that of one migrated by Alembic to the newest revision. Run it after adding a
migration (tests/contract/test_migrate_aside.py fails until you do):

    .venv/bin/python scripts/sqlite_baseline.py
"""

from __future__ import annotations

from mailbot.adapters.db import SQLITE_BASELINE, sqlite_baseline_text

if __name__ == "__main__":
    SQLITE_BASELINE.write_text(sqlite_baseline_text(), encoding="utf-8")
    print(f"wrote {SQLITE_BASELINE}")
