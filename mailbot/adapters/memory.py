"""Give freed heap memory back to the operating system (glibc keeps it by default)."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable

_trim: Callable[[int], int] | None = None
try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _trim = _libc.malloc_trim
except (OSError, AttributeError):  # not glibc: nothing to do
    _trim = None


def release_free_memory(*, collect: bool = False) -> None:
    """malloc_trim(0): after loading a model, most of what the loader allocated is garbage
    that glibc would otherwise keep (~40 MB for the default model); `collect` runs the cycle
    collector first."""
    if collect:
        gc.collect()
    if _trim is not None:
        _trim(0)
