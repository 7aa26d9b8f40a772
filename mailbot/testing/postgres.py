"""A private PostgreSQL (Debian's package) for tests: its own data directory, a loopback port.

PostgreSQL refuses to run as root, so when we are root initdb and the server run as the
`postgres` user (runuser), in a directory that user owns. fsync is off: these databases are
thrown away, and the tests are about concurrency, not durability.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from mailbot.testing.servers import free_port

_BIN_GLOB = "/usr/lib/postgresql/*/bin"


def _bin_dir() -> Path:
    found = sorted(glob.glob(_BIN_GLOB))
    if not found:
        raise RuntimeError(
            "PostgreSQL is not installed; run scripts/install-system-deps.sh (postgresql-15)"
        )
    return Path(found[-1])


class Postgres:
    def __init__(self, database: str = "mailbot") -> None:
        self.database = database
        self.port = free_port()
        self._bin = _bin_dir()
        self._root = Path(tempfile.mkdtemp(prefix="mailbot-pg-"))
        self._data = self._root / "data"
        self._as_postgres = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgresql+pg8000://postgres@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *args: str) -> None:
        command = [str(self._bin / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}")

    def start(self) -> None:
        if self._as_postgres:
            os.chmod(self._root, 0o755)
            shutil.chown(self._root, "postgres", "postgres")
        self._run("initdb", "-D", str(self._data), "-A", "trust", "-U", "postgres", "--no-sync")
        options = (
            f"-p {self.port} -k {self._root} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        self._run("pg_ctl", "-D", str(self._data), "-o", options, "-l", str(self._root / "log"),
                  "-w", "start")  # fmt: skip
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                  self.database)  # fmt: skip

    def stop(self) -> None:
        if self._data.exists():
            with contextlib.suppress(RuntimeError):  # already gone
                self._run("pg_ctl", "-D", str(self._data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self._root, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        path = self._root / "log"
        return "\n".join(path.read_text().splitlines()[-lines:]) if path.exists() else ""

    def __enter__(self) -> Postgres:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
