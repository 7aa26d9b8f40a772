"""aioimaplib -> FetchedMail. aioimaplib returns NO/BAD as results; every one is checked here."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import re
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any

import aioimaplib
from aioimaplib.aioimaplib import Command, IMAP4ClientProtocol

from mailbot.adapters.oauth import access_token
from mailbot.adapters.tlsctx import client_context
from mailbot.domain import FetchedMail
from mailbot.errors import TransientError
from mailbot.settings import ImapSettings

log = logging.getLogger(__name__)

# Response codes that mean "not now" rather than "this message is broken" (RFC 5530).
_TEMPORARY = re.compile(r"\[(UNAVAILABLE|INUSE|LIMIT|SERVERBUG|OVERQUOTA|EXPUNGEISSUED)\]")
_FETCH_HEAD = re.compile(rb"^\d+ FETCH \(.*?\{(\d+)\}$")
_UID = re.compile(rb"UID (\d+)")
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")

# Servers drop IDLE after 30 minutes (RFC 2177 says re-issue at least every 29).
IDLE_LIMIT = 28 * 60.0

_NETWORK_ERRORS = (OSError, TimeoutError, asyncio.TimeoutError, aioimaplib.AioImapException)

# What aioimaplib's parser is given at once (see _SlicedProtocol).
_SLICE = 4096


class _SlicedProtocol(IMAP4ClientProtocol):  # type: ignore[misc]  # untyped library
    """aioimaplib parses each read by recursion, one level per line or literal, every level
    holding its own copy of the rest of the read. Reads of up to 256 KB made that quadratic:
    10-35 MB of transient copies per FETCH of a hundred 3 KB messages (tracemalloc, under
    load), and ~330 tiny messages in one read passed Python's recursion limit, which dropped
    the connection on every retry. Fed 4 KB at a time (it keeps partial lines and literals
    between calls), the parser holds a few copies of 4 KB, and at most ~150 levels."""

    def data_received(self, d: bytes) -> None:
        for start in range(0, len(d), _SLICE):
            super().data_received(d[start : start + _SLICE])


class ImapMailbox:
    """One IMAP connection with one selected folder. Never deletes anything."""

    def __init__(self, settings: ImapSettings, account: str) -> None:
        self._s = settings
        self.account = account
        self.uidvalidity = 0
        self._client: aioimaplib.IMAP4 | None = None
        self._lost: asyncio.Future[None] | None = None
        self._folders_made: set[str] = set()

    def _connection_lost(self, _exc: Exception | None) -> None:
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    @property
    def folder(self) -> str:
        return self._s.folder

    async def connect(self) -> None:
        """Connect, upgrade to TLS as configured, log in and select the folder."""
        try:
            await self._open()
        except _NETWORK_ERRORS as exc:
            await self.close()
            raise TransientError(f"IMAP {self._where()}: {_describe(exc)}") from exc

    async def _open(self) -> None:
        s = self._s
        if s.tls == "ssl":
            client: aioimaplib.IMAP4 = aioimaplib.IMAP4_SSL(
                host=s.host,
                port=s.effective_port(),
                timeout=s.timeout,
                ssl_context=client_context(s.ca_file),
            )
        else:
            client = aioimaplib.IMAP4(host=s.host, port=s.effective_port(), timeout=s.timeout)
        self._client = client
        self._lost = asyncio.get_running_loop().create_future()
        # The protocol object exists before its connection does; only its reading changes.
        client.protocol.__class__ = _SlicedProtocol
        client.protocol.conn_lost_cb = self._connection_lost
        await client.wait_hello_from_server()
        if s.tls == "starttls":
            await self._starttls(client)
        if s.auth == "xoauth2":
            token = await access_token(s.oauth2_token_file, s.oauth2_token_command)
            await self._xoauth2(client, token)
        else:
            password = s.password.get_secret_value() if s.password else ""
            _check(await client.login(s.username, password), f"login as {s.username}")
        # Servers announce more (MOVE, IDLE...) once authenticated; not all say so unasked.
        await asyncio.wait_for(client.protocol.capability(), s.timeout)
        await self.select()

    async def _xoauth2(self, client: aioimaplib.IMAP4, token: str) -> None:
        """AUTHENTICATE XOAUTH2 with the token as initial response (RFC 4959 SASL-IR).

        Not aioimaplib's xoauth2(): on a refused token the server sends a '+' challenge with
        the error and waits for an empty reply, which aioimaplib never sends (a hang).
        """
        protocol = client.protocol
        sasl = base64.b64encode(f"user={self._s.username}\1auth=Bearer {token}\1\1".encode())
        command = _SaslCommand(protocol.new_tag(), sasl.decode("ascii"), protocol)
        response = await asyncio.wait_for(protocol.execute(command), self._s.timeout)
        _check(response, f"XOAUTH2 as {self._s.username}")
        protocol.state = "AUTH"

    async def _starttls(self, client: aioimaplib.IMAP4) -> None:
        """Upgrade the plain connection in place; aioimaplib has no STARTTLS of its own."""
        protocol = client.protocol
        response = await asyncio.wait_for(
            protocol.execute(Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)),
            self._s.timeout,
        )
        _check(response, "STARTTLS")
        loop = asyncio.get_running_loop()
        protocol.transport = await asyncio.wait_for(
            loop.start_tls(
                protocol.transport,
                protocol,
                client_context(self._s.ca_file),
                server_hostname=self._s.host,
            ),
            self._s.timeout,
        )
        # Capabilities announced before TLS must not be trusted (RFC 3501 6.2.1).
        await asyncio.wait_for(protocol.capability(), self._s.timeout)

    async def select(self) -> int:
        """(Re)select the folder and return its UIDVALIDITY."""
        response = await self._call(self._c().select(self._s.folder), f"SELECT {self._s.folder}")
        for line in response.lines:
            found = _UIDVALIDITY.search(bytes(line))
            if found:
                self.uidvalidity = int(found.group(1))
                return self.uidvalidity
        raise TransientError(f"IMAP {self._where()}: SELECT gave no UIDVALIDITY")

    async def uids_after(self, last_uid: int) -> list[int]:
        """UIDs greater than `last_uid`, ascending."""
        response = await self._call(
            self._c().uid_search(f"UID {last_uid + 1}:*", charset=None), "UID SEARCH"
        )
        uids: set[int] = set()
        # aioimaplib strips the "SEARCH" keyword from the untagged line; the last line is the
        # tagged completion text.
        for line in response.lines[:-1]:
            tokens = bytes(line).removeprefix(b"SEARCH").split()
            if all(t.isdigit() for t in tokens):
                uids.update(int(t) for t in tokens)
        # "n:*" always matches the highest UID, even when it is below n.
        return sorted(u for u in uids if u > last_uid)

    async def fetch(self, uids: Sequence[int]) -> FetchResult:
        """BODY.PEEK[] of `uids` (never sets \\Seen by itself), in batches.

        A batch the server refuses (NO/BAD, e.g. one corrupt message) is fetched again one
        UID at a time; a UID that still fails, or that the server does not return, is
        reported in `missing` with the reason, never silently skipped.
        """
        result = FetchResult([], [])
        batch = self._s.fetch_batch
        for start in range(0, len(uids), batch):
            chunk = list(uids[start : start + batch])
            try:
                got = await self._fetch_set(chunk)
            except ServerRefused:
                got = await self._fetch_singly(chunk, result.missing)
            result.mails.extend(got)
            returned = {m.uid for m in got} | {uid for uid, _ in result.missing}
            result.missing.extend(
                (u, "not returned by UID FETCH") for u in chunk if u not in returned
            )
        return result

    async def _fetch_set(self, uids: Sequence[int]) -> list[FetchedMail]:
        uid_set = ",".join(str(u) for u in uids)
        response = await self._call(
            self._c().uid("fetch", uid_set, "(UID BODY.PEEK[])"), "UID FETCH"
        )
        return self._parse_fetch(response.lines)

    async def _fetch_singly(
        self, uids: Sequence[int], missing: list[tuple[int, str]]
    ) -> list[FetchedMail]:
        got: list[FetchedMail] = []
        refused: list[tuple[int, str]] = []
        for uid in uids:
            try:
                got.extend(await self._fetch_set([uid]))
            except ServerRefused as exc:
                if _TEMPORARY.search(str(exc)):
                    raise  # the server is busy or degraded: store nothing, try again later
                refused.append((uid, str(exc)))
        if refused and not got and len(uids) > 1:
            # Every message refused: more likely a server problem than that many bad messages.
            raise ServerRefused(
                f"IMAP UID FETCH refused for all of {len(uids)} UIDs: {refused[0][1]}"
            )
        missing.extend(refused)
        return got

    def _parse_fetch(self, lines: Sequence[bytes | bytearray]) -> list[FetchedMail]:
        found: list[FetchedMail] = []
        for i, line in enumerate(lines):
            head = _FETCH_HEAD.match(bytes(line)) if isinstance(line, bytes) else None
            if head is None or i + 1 >= len(lines):
                continue
            raw = bytes(lines[i + 1])
            tail = bytes(lines[i + 2]) if i + 2 < len(lines) else b""
            uid = _UID.search(bytes(line)) or _UID.search(tail)
            if uid is not None:
                found.append(
                    FetchedMail(
                        self.account, self._s.folder, self.uidvalidity, int(uid.group(1)), raw
                    )
                )
        return found

    @property
    def supports_idle(self) -> bool:
        return self._client is not None and self._client.has_capability("IDLE")

    async def wait_for_change(self, timeout: float, stop: asyncio.Event) -> None:
        """IDLE until the server pushes anything, `timeout` passes, or `stop` is set.

        A connection lost before or during IDLE raises TransientError at once, so the caller
        reconnects instead of waiting out the timeout.
        """
        client = self._c()
        limit = min(timeout, IDLE_LIMIT)
        if self._lost is not None and self._lost.done():
            raise TransientError(f"IMAP {self._where()}: connection lost")
        try:
            idle = await asyncio.wait_for(client.idle_start(timeout=limit), self._s.timeout)
            ended = await self._first_event(client, stop, limit)
            if ended == "lost":
                raise TransientError(f"IMAP {self._where()}: connection lost during IDLE")
            client.idle_done()
            _check(await asyncio.wait_for(idle, self._s.timeout), "IDLE")
        except (*_NETWORK_ERRORS, RuntimeError) as exc:
            raise TransientError(f"IMAP {self._where()}: IDLE: {_describe(exc)}") from exc

    async def _first_event(
        self, client: aioimaplib.IMAP4, stop: asyncio.Event, limit: float
    ) -> str:
        """Wait for a server push, `stop`, the connection's loss, or `limit` seconds."""
        assert self._lost is not None
        waiters = {
            asyncio.ensure_future(client.wait_server_push(timeout=limit + 5)): "push",
            asyncio.ensure_future(stop.wait()): "stop",
            asyncio.ensure_future(asyncio.shield(self._lost)): "lost",
        }
        done, pending = await asyncio.wait(
            waiters, timeout=limit, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        for task in done:
            task.exception()  # retrieved: a push that timed out is just the end of this IDLE
        if self._lost.done():
            return "lost"
        return next((waiters[t] for t in done), "timeout")

    async def mark_seen(self, uids: Sequence[int]) -> None:
        if not uids:
            return
        uid_set = ",".join(str(u) for u in uids)
        await self._call(self._c().uid("store", uid_set, "+FLAGS.SILENT", r"(\Seen)"), "UID STORE")

    async def move(self, uids: Sequence[int], folder: str) -> None:
        """Move (or, without the MOVE extension, copy and flag \\Seen) -- never delete."""
        if not uids:
            return
        await self._ensure_folder(folder)
        uid_set = ",".join(str(u) for u in uids)
        if self._c().has_capability("MOVE"):
            await self._call(self._c().uid("move", uid_set, _quote(folder)), "UID MOVE")
            return
        await self._call(self._c().uid("copy", uid_set, _quote(folder)), "UID COPY")
        await self.mark_seen(uids)

    async def _ensure_folder(self, folder: str) -> None:
        if folder in self._folders_made:
            return
        try:
            await self._call(self._c().create(_quote(folder)), f"CREATE {folder}")
        except ServerRefused as exc:  # usually NO [ALREADYEXISTS]; a real problem shows in MOVE
            log.debug("%s", exc)
        self._folders_made.add(folder)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            # Not on a lost connection: LOGOUT would queue behind the abandoned command for 5 s.
            if self._lost is None or not self._lost.done():
                await asyncio.wait_for(client.logout(), 5)
        except (*_NETWORK_ERRORS, RuntimeError) as exc:
            log.debug("IMAP logout failed (closing anyway): %s", _describe(exc))
        finally:
            await self._close_transport(client)

    async def _close_transport(self, client: aioimaplib.IMAP4) -> None:
        """Close the socket and wait until it is really gone (TLS shuts down asynchronously)."""
        # aioimaplib leaves the socket open when LOGOUT fails or was never possible.
        transport = getattr(client.protocol, "transport", None)
        if transport is None:
            await asyncio.sleep(0)  # a failed TLS handshake closes its socket in a callback
            return
        transport.close()
        if self._lost is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._lost), 2.0)

    def _c(self) -> aioimaplib.IMAP4:
        if self._client is None:
            raise TransientError(f"IMAP {self._where()}: not connected")
        return self._client

    async def _call(self, awaitable: Awaitable[Any], what: str) -> aioimaplib.Response:
        try:
            response = await self._unless_lost(awaitable, what)
        except _NETWORK_ERRORS as exc:
            raise TransientError(f"IMAP {self._where()}: {what}: {_describe(exc)}") from exc
        return _check(response, what)

    async def _unless_lost(self, awaitable: Awaitable[Any], what: str) -> aioimaplib.Response:
        """The command's response, or TransientError as soon as the connection is lost.

        aioimaplib leaves a command sent on a dead connection waiting for its reply: for ever
        for UID STORE/COPY/MOVE (no timeout), 30 s for the others. Dovecot restarting during a
        UID STORE stopped ingest for good, silently.
        """
        command = asyncio.ensure_future(awaitable)
        if self._lost is None:
            return await command
        lost = asyncio.ensure_future(asyncio.shield(self._lost))
        try:
            await asyncio.wait({command, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not command.done():  # lost, or this task was cancelled
                command.cancel()
        if not command.done():
            raise TransientError(f"IMAP {self._where()}: connection lost during {what}")
        return command.result()

    def _where(self) -> str:
        return f"{self._s.host}:{self._s.effective_port()}"


class _SaslCommand(Command):  # type: ignore[misc]  # aioimaplib ships no types
    """AUTHENTICATE XOAUTH2 that answers an error challenge with the empty reply it expects."""

    def __init__(self, tag: str, initial: str, protocol: aioimaplib.IMAP4ClientProtocol) -> None:
        super().__init__("AUTHENTICATE", tag, "XOAUTH2", initial, loop=protocol.loop)
        self._protocol = protocol

    def append_to_resp(self, line: bytes, result: str = "Pending") -> None:
        super().append_to_resp(line, result)
        if line.startswith(b"+"):
            self._protocol.transport.write(b"\r\n")


class ServerRefused(TransientError):
    """The server answered NO or BAD (aioimaplib returns these as results, not errors)."""


@dataclass
class FetchResult:
    mails: list[FetchedMail]
    missing: list[tuple[int, str]]  # (uid, reason) of UIDs that could not be fetched


def _check(response: aioimaplib.Response, what: str) -> aioimaplib.Response:
    if response.result != "OK":
        detail = b" ".join(bytes(x) for x in response.lines[-1:]).decode("utf-8", "replace")
        raise ServerRefused(f"IMAP {what}: {response.result} {detail}".strip())
    return response


def _quote(name: str) -> str:
    """An IMAP quoted string (folder names may contain spaces)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _describe(exc: BaseException) -> str:
    return str(exc) or exc.__class__.__name__
