"""The IMAP adapter on real Dovecot: verified TLS (implicit, STARTTLS), errors translated."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import trustme

from mailbot.adapters.imap import ImapMailbox
from mailbot.errors import TransientError
from mailbot.settings import ImapSettings
from mailbot.testing.servers import Dovecot, free_port

USER, PASSWORD = "support@example.test", "imap-secret"
MAIL = b"From: a@customer.test\r\nSubject: tls\r\nMessage-ID: <tls-1@x>\r\n\r\nhello\r\n"


@pytest.fixture
def tls_dovecot(tmp_path: Path) -> Iterator[tuple[Dovecot, Path, Path]]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_path, key_path, ca_path = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    ca.cert_pem.write_to_path(str(ca_path))
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    with Dovecot(
        tmp_path / "dv", user=USER, password=PASSWORD, tls_cert=cert_path, tls_key=key_path
    ) as server:
        server.append(MAIL)
        yield server, ca_path, other_ca


def settings(**kw: object) -> ImapSettings:
    base: dict[str, object] = {
        "host": "127.0.0.1",
        "username": USER,
        "password": PASSWORD,
        "timeout": 5,
    }
    return ImapSettings.model_validate(base | kw)


async def fetch_all(s: ImapSettings) -> list[bytes]:
    mailbox = ImapMailbox(s, "acct")
    try:
        await mailbox.connect()
        uids = await mailbox.uids_after(0)
        return [m.raw for m in (await mailbox.fetch(uids)).mails]
    finally:
        await mailbox.close()


def test_implicit_tls_with_verified_certificate(tls_dovecot: tuple[Dovecot, Path, Path]) -> None:
    server, ca, _ = tls_dovecot
    got = asyncio.run(fetch_all(settings(port=server.ssl_port, tls="ssl", ca_file=ca)))
    assert got == [MAIL]


def test_starttls_upgrade_with_verified_certificate(
    tls_dovecot: tuple[Dovecot, Path, Path],
) -> None:
    server, ca, _ = tls_dovecot
    got = asyncio.run(fetch_all(settings(port=server.port, tls="starttls", ca_file=ca)))
    assert got == [MAIL]


@pytest.mark.parametrize("mode", ["ssl", "starttls"])
def test_untrusted_certificate_is_refused(
    tls_dovecot: tuple[Dovecot, Path, Path], mode: str
) -> None:
    server, _, other_ca = tls_dovecot
    port = server.ssl_port if mode == "ssl" else server.port
    with pytest.raises(TransientError, match=r"(?i)certificate[ _]verify[ _]failed"):
        asyncio.run(fetch_all(settings(port=port, tls=mode, ca_file=other_ca)))


def test_wrong_password_and_unreachable_server_are_transient_errors(dovecot: Dovecot) -> None:
    with pytest.raises(TransientError, match="login"):
        asyncio.run(fetch_all(settings(port=dovecot.port, tls="none", password="wrong")))
    with pytest.raises(TransientError, match=r"127\.0\.0\.1"):
        asyncio.run(fetch_all(settings(port=free_port(), tls="none")))


def test_fetch_in_batches_keeps_uid_order(dovecot: Dovecot) -> None:
    raws = [f"Subject: {i}\r\nMessage-ID: <b{i}@x>\r\n\r\nbody {i}\r\n".encode() for i in range(7)]
    dovecot.append_many(raws)
    got = asyncio.run(
        fetch_all(settings(port=dovecot.port, tls="none", fetch_batch=3, password=dovecot.password))
    )
    assert got == raws


def test_a_big_fetch_of_tiny_messages_is_read_whole(dovecot: Dovecot) -> None:
    """aioimaplib parses one read by recursion, a level per line or literal: ~330 tiny
    messages in one read passed Python's recursion limit, which killed the connection on every
    retry (the mailbox stalled). The adapter feeds it 4 KB at a time."""
    raws = [f"Subject: {i}\r\n\r\n{i}\r\n".encode() for i in range(1000)]
    dovecot.append_many(raws)
    got = asyncio.run(
        fetch_all(
            settings(port=dovecot.port, tls="none", fetch_batch=1000, password=dovecot.password)
        )
    )
    assert got == raws


def test_a_uid_the_server_does_not_return_is_reported_missing(dovecot: Dovecot) -> None:
    dovecot.append_many([MAIL])

    async def go() -> tuple[list[int], list[tuple[int, str]]]:
        mailbox = ImapMailbox(settings(port=dovecot.port, tls="none"), "acct")
        try:
            await mailbox.connect()
            result = await mailbox.fetch([1, 999])
            return [m.uid for m in result.mails], result.missing
        finally:
            await mailbox.close()

    got, missing = asyncio.run(go())
    assert got == [1]
    assert missing == [(999, "not returned by UID FETCH")]


class Introspection(BaseHTTPRequestHandler):
    """An OAuth2 token introspection endpoint (RFC 7662) that knows one token."""

    token = "ya29.valid-token"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        ok = parse_qs(body).get("token", [""])[0] == self.token
        data = json.dumps({"active": ok, "username": USER} if ok else {"active": False}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass  # keep the test output clean


@pytest.fixture
def oauth_dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    server = HTTPServer(("127.0.0.1", 0), Introspection)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/introspect"
    try:
        with Dovecot(tmp_path / "dv", user=USER, oauth2_introspection_url=url) as dovecot:
            dovecot.append(MAIL)
            yield dovecot
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_xoauth2_with_a_token_file_and_a_token_command(
    oauth_dovecot: Dovecot, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(Introspection.token + "\n")
    base = {"port": oauth_dovecot.port, "tls": "none", "auth": "xoauth2", "password": None}
    assert asyncio.run(fetch_all(settings(**base, oauth2_token_file=token_file))) == [MAIL]
    command = f"{sys.executable} -c \"print('{Introspection.token}')\""
    assert asyncio.run(fetch_all(settings(**base, oauth2_token_command=command))) == [MAIL]
    token_file.write_text("expired-token")
    with pytest.raises(TransientError, match=r"XOAUTH2 .* NO"):
        asyncio.run(fetch_all(settings(**base, oauth2_token_file=token_file)))
    token_file.write_text(Introspection.token)

    async def capabilities_after_auth() -> bool:
        mailbox = ImapMailbox(settings(**base, oauth2_token_file=token_file), "acct")
        try:
            await mailbox.connect()
            # Dovecot lists MOVE only once authenticated; without asking again, a move
            # would silently become copy + \Seen.
            return mailbox._c().has_capability("MOVE")
        finally:
            await mailbox.close()

    assert asyncio.run(capabilities_after_auth())
    failing = f"{sys.executable} -c \"import sys; sys.exit('refresh failed')\""
    with pytest.raises(TransientError, match="exited 1: refresh failed"):
        asyncio.run(fetch_all(settings(**base, oauth2_token_command=failing)))
