"""aiosmtplib: OutgoingMail -> sent, or TransientError (retry) / PermanentError (dead)."""

from __future__ import annotations

import logging

import aiosmtplib

from mailbot.adapters.tlsctx import client_context
from mailbot.domain import OutgoingMail
from mailbot.errors import PermanentError, TransientError
from mailbot.settings import SmtpSettings

log = logging.getLogger(__name__)


class SmtpSender:
    """One reused connection; reconnects when the server dropped it."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._s = settings
        self._client: aiosmtplib.SMTP | None = None

    async def send(self, mail: OutgoingMail) -> None:
        """Returns after the server's 250 for DATA. Raises TransientError or PermanentError."""
        try:
            client = await self._connected()
            await client.sendmail(mail.sender, list(mail.recipients), mail.raw)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            await self._reset()
            codes = [r.code for r in exc.recipients]
            raise _by_code(min(codes), f"recipients refused: {exc.recipients[0].message}") from exc
        except aiosmtplib.SMTPAuthenticationError as exc:
            # Wrong credentials are the operator's to fix; the message itself is fine: retry.
            await self._reset()
            raise TransientError(f"SMTP authentication failed: {exc.code} {exc.message}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset()
            raise _by_code(exc.code, exc.message) from exc
        except aiosmtplib.SMTPNotSupported as exc:
            # E.g. a non-ASCII address and no SMTPUTF8: retrying will not change that.
            await self._reset()
            raise PermanentError(f"SMTP {self._s.host}: {exc}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self._reset()
            raise TransientError(f"SMTP {self._s.host}:{self._s.effective_port()}: {exc}") from exc

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
        await client.connect()
        if s.username and s.password is not None:
            await client.login(s.username, s.password.get_secret_value())
        self._client = client
        return client

    async def _reset(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()

    async def close(self) -> None:
        await self._reset()


def _by_code(code: int, message: str) -> TransientError | PermanentError:
    text = f"SMTP {code} {message}".strip()
    return PermanentError(text) if 500 <= code < 600 else TransientError(text)
