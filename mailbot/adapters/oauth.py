"""OAuth2 access tokens for XOAUTH2, from a file or a command (never logged)."""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path

from mailbot.errors import TransientError

TOKEN_COMMAND_TIMEOUT = 30.0


async def access_token(token_file: Path | None, token_command: str | None) -> str:
    """The current token: re-read at every connect, because tokens expire within the hour."""
    if token_file is not None:
        return await asyncio.to_thread(_read_token_file, token_file)
    if token_command is not None:
        return await _run_token_command(token_command)
    raise TransientError("XOAUTH2: no token source configured")


def _read_token_file(path: Path) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise TransientError(f"XOAUTH2 token file {path}: {exc.strerror}") from exc
    if not token:
        raise TransientError(f"XOAUTH2 token file {path} is empty")
    return token


async def _run_token_command(command: str) -> str:
    argv = shlex.split(command)
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await asyncio.wait_for(proc.communicate(), TOKEN_COMMAND_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise TransientError(f"XOAUTH2 token command {argv[0]!r} failed: {exc}") from exc
    if proc.returncode != 0:
        # stderr may help the operator; stdout might hold a partial token, so it is not shown.
        detail = err.decode("utf-8", "replace").strip()[:200]
        raise TransientError(
            f"XOAUTH2 token command {argv[0]!r} exited {proc.returncode}: {detail}"
        )
    token = out.decode("utf-8", "replace").strip()
    if not token:
        raise TransientError(f"XOAUTH2 token command {argv[0]!r} printed nothing")
    return token
