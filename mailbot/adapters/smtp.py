"""aiosmtplib: OutgoingMail -> sent, or TransientError (retry) / PermanentError (dead).

A message goes out in two steps, so that the outbox can prepare several at once and still
let the server accept only one at a time (docs/delivery.md): `SmtpConnection.begin` does
everything the server cannot accept a message from (connect, EHLO, login, MAIL FROM, RCPT TO,
DATA up to its 354), `SmtpConnection.finish` sends the body and the terminating dot and reads
the reply. A begun message that is not to be sent is dropped with `abandon`: in the DATA
phase only closing the connection aborts it, and a server never delivers a message whose
final dot did not arrive (RFC 5321, 4.1.1.4).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING

import aiosmtplib

from mailbot.adapters.tlsctx import client_context
from mailbot.domain import OutgoingMail
from mailbot.errors import PermanentError, TransientError
from mailbot.settings import SmtpSettings

if TYPE_CHECKING:
    from aiosmtplib.protocol import SMTPProtocol

log = logging.getLogger(__name__)

_LINE_ENDING = re.compile(rb"\r\n|\n|\r(?!\n)")
_LEADING_DOT = re.compile(rb"(?m)^\.")
_START_INPUT = 354
_COMPLETED = 250


class SmtpUnavailable(TransientError):
    """Connecting, TLS, EHLO or login failed: nothing about the message was tried."""


def data_block(raw: bytes) -> bytes:
    """The message as sent after DATA: CRLF line endings, leading dots doubled, the final dot.

    What aiosmtplib's `data()` sends (protocol.execute_data_command), done here because the
    body is written separately from the DATA command."""
    body = _LINE_ENDING.sub(b"\r\n", raw)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return _LEADING_DOT.sub(b"..", body) + b".\r\n"


class SmtpConnection:
    """One reused SMTP connection; reconnects when the server dropped it."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._s = settings
        self._client: aiosmtplib.SMTP | None = None
        self._block = b""  # the begun message's DATA block, or b"" when none is begun

    async def send(self, mail: OutgoingMail) -> None:
        """Both steps: returns after the server's 250 for DATA."""
        await self.begin(mail)
        await self.finish()

    async def begin(self, mail: OutgoingMail) -> None:
        """Connect if needed, then MAIL FROM, RCPT TO, DATA -> 354; the body is not sent.

        Raises SmtpUnavailable (could not connect or log in), TransientError or PermanentError;
        after any of them nothing is begun."""
        self._block = b""
        try:
            client = await self._connected()
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self._reset()
            raise self._unavailable(exc) from exc
        except BaseException:  # cancelled while connecting
            self._drop()
            raise
        block = data_block(mail.raw)
        await self._guarded(self._envelope(client, mail, len(block) - 3))
        self._block = block

    async def finish(self) -> None:
        """Send the begun message's body and final dot; returns after the server's 250.

        From the write of the dot on, the server may have accepted the message: a failure
        after it (no reply, a dropped connection) cannot tell, and is a TransientError."""
        block, self._block = self._block, b""
        if not block:
            raise RuntimeError("finish() without a begun message")
        client = self._client
        if client is None or client.protocol is None:
            raise TransientError(f"SMTP {self._where()}: connection lost before the body")
        protocol = client.protocol
        await self._guarded(_reply_to_block(protocol, block, self._s.timeout))

    def abandon(self) -> None:
        """Drop a begun message: close the connection without sending its final dot."""
        if self._block:
            self._drop()

    async def close(self) -> None:
        self.abandon()
        await self._reset()

    async def _envelope(self, client: aiosmtplib.SMTP, mail: OutgoingMail, size: int) -> None:
        options = [f"SIZE={size}"] if client.supports_extension("size") else []
        await client.mail(mail.sender, options=options)
        refused = []
        for recipient in mail.recipients:
            try:
                await client.rcpt(recipient)
            except aiosmtplib.SMTPRecipientRefused as exc:
                refused.append(exc)
        if len(refused) == len(mail.recipients):
            raise aiosmtplib.SMTPRecipientsRefused(refused)
        reply = await client.execute_command(b"DATA")
        if reply.code != _START_INPUT:
            raise aiosmtplib.SMTPDataError(reply.code, reply.message)

    async def _guarded(self, step: Awaitable[None]) -> None:
        """Await an aiosmtplib step, translating its outcomes into ours."""
        try:
            await step
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError) as exc:
            # No reply, or half of one: the connection cannot be trusted with QUIT.
            self._drop()
            raise TransientError(f"SMTP {self._where()}: {exc}") from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            await self._reset()
            codes = [r.code for r in exc.recipients]
            raise _by_code(min(codes), f"recipients refused: {exc.recipients[0].message}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset()
            raise _by_code(exc.code, exc.message) from exc
        except aiosmtplib.SMTPNotSupported as exc:
            # E.g. a non-ASCII address and no SMTPUTF8: retrying will not change that.
            await self._reset()
            raise PermanentError(f"SMTP {self._s.host}: {exc}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self._reset()
            raise TransientError(f"SMTP {self._where()}: {exc}") from exc
        except BaseException:  # cancelled mid-command: the connection's state is unknown
            self._drop()
            raise

    def _unavailable(self, exc: BaseException) -> SmtpUnavailable:
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            # Wrong credentials are the operator's to fix; the message itself is fine: retry.
            return SmtpUnavailable(f"SMTP authentication failed: {exc.code} {exc.message}")
        return SmtpUnavailable(f"SMTP {self._where()}: {exc}")

    def _where(self) -> str:
        return f"{self._s.host}:{self._s.effective_port()}"

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        s = self._s
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.effective_port(),
            use_tls=s.tls == "ssl",
            start_tls=s.tls == "starttls",
            tls_context=client_context(s.ca_file) if s.tls != "none" else None,
            timeout=s.timeout,
        )
        self._client = client  # so that a failure below closes it (begin resets)
        await client.connect()
        if client.is_ehlo_or_helo_needed:  # here, so that a refusal counts as the connection's
            try:
                await client.ehlo()
            except aiosmtplib.SMTPHeloError:
                if not client.is_connected:
                    raise
                await client.helo()
        if s.username and s.password is not None:
            await client.login(s.username, s.password.get_secret_value())
        return client

    def _drop(self) -> None:
        """Close at once, without QUIT."""
        self._block = b""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def _reset(self) -> None:
        """QUIT and close (the next message connects again)."""
        self._block = b""
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()


async def _reply_to_block(protocol: SMTPProtocol, block: bytes, timeout: float) -> None:
    """Write the DATA block and wait for the server's reply to it.

    aiosmtplib has no public call for this half of DATA; its protocol's `write` and
    `read_response` are what `execute_data_command` itself uses after the 354. No other
    command can be running on this connection: a connection serves one message at a time."""
    protocol.write(block)
    reply = await protocol.read_response(timeout=timeout)
    if reply.code != _COMPLETED:
        raise aiosmtplib.SMTPDataError(reply.code, reply.message)


class SmtpSender:
    """Up to `connections` SMTP connections to one server (settings.connections)."""

    def __init__(self, settings: SmtpSettings, *, connections: int | None = None) -> None:
        count = settings.connections if connections is None else connections
        self._connections = [SmtpConnection(settings) for _ in range(max(1, count))]

    @property
    def connections(self) -> Sequence[SmtpConnection]:
        return self._connections

    async def send(self, mail: OutgoingMail) -> None:
        """One message over the first connection: returns after the server's 250 for DATA."""
        await self._connections[0].send(mail)

    async def close(self) -> None:
        for connection in self._connections:
            await connection.close()


def _by_code(code: int, message: str) -> TransientError | PermanentError:
    text = f"SMTP {code} {message}".strip()
    return PermanentError(text) if 500 <= code < 600 else TransientError(text)
