"""Give freed heap memory back to the operating system (glibc keeps it by default)."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable

_trim: Callable[[int], int] | None = None
_mallopt: Callable[[int, int], int] | None = None
try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _trim, _mallopt = _libc.malloc_trim, _libc.mallopt
except (OSError, AttributeError):  # not glibc: nothing to do
    _trim = _mallopt = None

_M_ARENA_MAX = -8  # glibc's mallopt parameter number


def limit_malloc_arenas(arenas: int = 2) -> None:
    """glibc gives each new thread its own heap arena (up to 8 per core), and each keeps what
    it freed: the daemon's worker threads grew RSS by ~60 MB that way. Call before threads
    start."""
    if _mallopt is not None:
        _mallopt(_M_ARENA_MAX, arenas)


def release_free_memory(*, collect: bool = False) -> None:
    """malloc_trim(0): after loading a model, most of what the loader allocated is garbage
    that glibc would otherwise keep (~40 MB for the default model); `collect` runs the cycle
    collector first."""
    if collect:
        gc.collect()
    if _trim is not None:
        _trim(0)
