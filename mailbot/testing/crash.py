"""TEST-ONLY crash points: kill this process at a named point, to prove what a crash leaves.

Enabled only by the environment variable MAILBOT_TEST_CRASH_AT, read once when this module
is imported; never set it in production. Unset (the normal case), `point()` is a function that
returns at once and does nothing else.

    MAILBOT_TEST_CRASH_AT=after-inbox-commit     die at the first occurrence
    MAILBOT_TEST_CRASH_AT=after-smtp-250:3       die at the third occurrence

The process sends itself SIGKILL (exit status -9 / 137), as `kill -9` or the kernel's OOM
killer would: no finally blocks, no atexit handlers, no flush, no clean release of anything.
Just before, one line `CRASH TEST POINT <name> #<n>: SIGKILL` is written to stderr with a
raw write, so a test can tell the planned death from an accident.

The points (each a one-line call in the runner named):
- after-inbox-commit (runners/ingest.py): a fetched batch is committed to the inbox table,
  its \\Seen flags are not set on the server yet.
- after-smtp-250 (runners/outbox.py): the SMTP server answered 250 to DATA, the outbox row is
  not marked sent yet (the documented at-least-once window, docs/delivery.md).
"""

from __future__ import annotations

import os
import signal

ENV = "MAILBOT_TEST_CRASH_AT"
POINTS = frozenset({"after-inbox-commit", "after-smtp-250"})


def _parse(spec: str) -> tuple[str, int] | None:
    """'name' or 'name:N' -> (name, N); None when unset. A typo fails loudly, at import."""
    if not spec:
        return None
    name, _, count = spec.partition(":")
    if name not in POINTS or not (count == "" or (count.isdigit() and int(count) >= 1)):
        raise RuntimeError(f"{ENV}={spec!r}: expected one of {sorted(POINTS)}, optionally ':N'")
    return name, int(count or 1)


_TARGET = _parse(os.environ.get(ENV, ""))
_seen = 0


def _die_at(name: str) -> None:
    """Count occurrences of the armed point; SIGKILL this process at the N-th."""
    global _seen
    assert _TARGET is not None
    if name != _TARGET[0]:
        return
    _seen += 1
    if _seen < _TARGET[1]:
        return
    os.write(2, f"CRASH TEST POINT {name} #{_seen}: SIGKILL\n".encode())
    os.kill(os.getpid(), signal.SIGKILL)
    os._exit(137)  # not reached: SIGKILL cannot be caught


def _inert(name: str) -> None:
    """The production path: nothing."""


point = _inert if _TARGET is None else _die_at
