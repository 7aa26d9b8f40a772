"""One `mailbot run` per state directory: a second one (say, an overlapping cron job) must
not process or send the same mail. Several instances on one database arrive with PostgreSQL
leases; until then this file lock is the guard."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from mailbot.errors import MailbotError


class RunLock:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "mailbot.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or fail at once with a clear message (the kernel frees it on exit)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise MailbotError(
                f"another mailbot run (pid {holder}) uses {self.path.parent}"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
