"""The core is pure: it imports no I/O, async, database or clock-reading modules."""

from __future__ import annotations

import ast
from pathlib import Path

import mailbot.core

FORBIDDEN = {
    "asyncio",
    "aioimaplib",
    "aiosmtplib",
    "sqlmodel",
    "sqlalchemy",
    "socket",
    "mailbot.adapters",
    "mailbot.runners",
    "mailbot.clock",
    "time",
    "subprocess",
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_imports_nothing_with_side_effects() -> None:
    core = Path(mailbot.core.__file__).parent
    files = sorted(core.glob("*.py"))
    assert len(files) >= 7
    for path in files:
        bad = {
            m
            for m in imported_modules(path)
            if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)
        }
        assert not bad, f"{path.name} imports {bad}"


def test_core_never_reads_the_clock() -> None:
    core = Path(mailbot.core.__file__).parent
    for path in core.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for call in ("datetime.now(", "datetime.utcnow(", "date.today(", "time.time("):
            assert call not in text, f"{path.name} calls {call}"
