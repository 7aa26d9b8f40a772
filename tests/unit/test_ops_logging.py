"""logconfig: JSON and text lines, fields from extra= or the context, secrets masked."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator

import pytest

from mailbot.logconfig import bind, configure, log_context


class Stderr:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        self._seen = ""

    def getvalue(self) -> str:
        self._seen += self._capsys.readouterr().err
        return self._seen


@pytest.fixture
def stderr(capsys: pytest.CaptureFixture[str]) -> Iterator[Stderr]:
    """What logging wrote to stderr (configure() binds the handler to the current stderr)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield Stderr(capsys)
    root.handlers[:] = handlers  # leave no handler on the capture behind
    root.setLevel(level)


def test_json_lines_carry_fields_from_extra_and_from_the_context(stderr: Stderr) -> None:
    configure("INFO", "json")
    log = logging.getLogger("mailbot.test")
    with log_context(mailbox="support/INBOX"):
        log.info("sent %s", "it", extra={"ref": "MB-000007", "message_id": "<a@b>"})
    log.warning("plain")
    first, second = (json.loads(line) for line in stderr.getvalue().splitlines())
    assert first["message"] == "sent it" and first["level"] == "INFO"
    assert first["logger"] == "mailbot.test" and first["ts"].endswith("Z")
    assert (first["mailbox"], first["ref"], first["message_id"]) == (
        "support/INBOX",
        "MB-000007",
        "<a@b>",
    )
    assert "mailbox" not in second  # the context ended with the block


def test_text_lines_append_known_fields_and_exceptions_stay_in_json(
    stderr: Stderr,
) -> None:
    configure("INFO", "text")
    logging.getLogger("x").info("hello", extra={"ref": "MB-1"})
    assert stderr.getvalue().rstrip().endswith("INFO x: hello [ref=MB-1]")
    configure("INFO", "json")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("x").exception("failed")
    doc = json.loads(stderr.getvalue().splitlines()[-1])
    assert "ValueError: boom" in doc["exc"]


def test_configured_secrets_never_reach_the_output(stderr: Stderr) -> None:
    configure("DEBUG", "json", secrets=["hunter2-long", "x"])
    logging.getLogger("y").debug("login with %s and x", "hunter2-long")
    line = stderr.getvalue()
    assert "hunter2-long" not in line and "***" in line
    assert " and x" in line  # values too short to be a password are left alone


def test_protocol_loggers_stay_quiet_at_debug(stderr: Stderr) -> None:
    configure("DEBUG")
    logging.getLogger("aioimaplib.aioimaplib").debug("LOGIN user secret")
    logging.getLogger("aiosmtplib").debug("AUTH PLAIN ...")
    assert stderr.getvalue() == ""


def test_bound_fields_follow_the_task_into_worker_threads(stderr: Stderr) -> None:
    configure("INFO", "json")

    async def task() -> None:
        bind(mailbox="box-a")
        await asyncio.to_thread(logging.getLogger("z").info, "from a thread")

    asyncio.run(task())
    logging.getLogger("z").info("outside")
    inside, outside = (json.loads(x) for x in stderr.getvalue().splitlines())
    assert inside["mailbox"] == "box-a" and "mailbox" not in outside
