"""Tests of the real-server harness: a private Dovecot and the aiosmtpd receiver."""

from __future__ import annotations

import imaplib
import os
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pytest
import trustme

from mailbot.testing.servers import Dovecot, SmtpReceiver, free_port

pytestmark = pytest.mark.timeout(60)

PLAIN_MAIL = b"From: a@example.test\r\nTo: support@example.test\r\nSubject: plain\r\n\r\nhello\r\n"
EIGHT_BIT_MAIL = (
    b"From: b@example.test\r\nTo: support@example.test\r\nSubject: umlaut\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n\r\n" + "Grüße, héllo — 你好\r\n".encode()
)


def _mail(n: int) -> bytes:
    """Build a small numbered message."""
    return f"From: n@example.test\r\nSubject: msg {n}\r\n\r\nbody {n}\r\n".encode()


@dataclass(frozen=True)
class TlsFiles:
    """A trustme CA plus a server cert/key written to disk."""

    ca: trustme.CA
    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        """Return a verifying client context that trusts only this CA."""
        ctx = ssl.create_default_context()
        self.ca.configure_trust(ctx)
        return ctx


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    """A running plain-IMAP Dovecot."""
    with Dovecot(tmp_path / "dovecot") as server:
        yield server


@pytest.fixture
def tls_files(tmp_path: Path) -> TlsFiles:
    """Generate a CA and a cert for 127.0.0.1/localhost."""
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    return TlsFiles(ca, cert, key)


@pytest.fixture
def tls_dovecot(tmp_path: Path, tls_files: TlsFiles) -> Iterator[Dovecot]:
    """A running Dovecot with STARTTLS and IMAPS."""
    with Dovecot(tmp_path / "tls", tls_cert=tls_files.cert, tls_key=tls_files.key) as server:
        yield server


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    """A running SMTP receiver."""
    with SmtpReceiver() as receiver:
        yield receiver


def _port_bindable(port: int) -> bool:
    """Tell whether a loopback port is free."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _titled_processes(prefix: str) -> list[int]:
    """List pids whose command line starts with `prefix`."""
    pids = []
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            if Path(f"/proc/{name}/cmdline").read_bytes().startswith(prefix.encode()):
                pids.append(int(name))
        except OSError:
            continue
    return pids


def _read_until(reader: BinaryIO, prefix: bytes) -> None:
    """Read IMAP lines until one starts with `prefix` (fails via socket timeout)."""
    while not (line := reader.readline()).startswith(prefix):
        assert line, f"connection closed before {prefix!r}"


def _send(
    receiver: SmtpReceiver, sender: str, rcpts: list[str], data: bytes, **opts: list[str]
) -> None:
    """Send one message with stdlib smtplib."""
    with smtplib.SMTP(
        receiver.host, receiver.port, local_hostname="client.test", timeout=10
    ) as client:
        client.sendmail(sender, rcpts, data, **opts)


# -- Dovecot -------------------------------------------------------------------------------------


def test_append_flags_and_fetch_all(dovecot: Dovecot) -> None:
    """Appended messages come back byte-exact (8-bit body too) with their flags, in UID order."""
    dovecot.append(PLAIN_MAIL)
    dovecot.append(EIGHT_BIT_MAIL, flags="\\Seen")

    assert dovecot.flags() == {1: set(), 2: {"\\Seen"}}
    assert dovecot.fetch_all() == [PLAIN_MAIL, EIGHT_BIT_MAIL]
    assert "Grüße".encode() in dovecot.fetch_all()[1]
    # fetch_all uses BODY.PEEK, so reading must not mark anything \Seen.
    assert dovecot.flags()[1] == set()


def test_lf_only_messages_are_stored_with_crlf(dovecot: Dovecot) -> None:
    """Bare-LF input is normalised by imaplib, so tests may write messages with plain newlines."""
    dovecot.append(b"Subject: lf\n\nline\n")
    assert dovecot.fetch_all() == [b"Subject: lf\r\n\r\nline\r\n"]


def test_clear_flag_only_removes_that_flag(dovecot: Dovecot) -> None:
    """clear_flag removes \\Seen from all messages and leaves other flags alone."""
    dovecot.append(_mail(1), flags="\\Seen \\Flagged")
    dovecot.append(_mail(2), flags="\\Seen")
    dovecot.clear_flag()
    assert dovecot.flags() == {1: {"\\Flagged"}, 2: set()}
    dovecot.clear_flag("\\Flagged")
    assert dovecot.flags() == {1: set(), 2: set()}


def test_folders_and_append_many(dovecot: Dovecot) -> None:
    """append_many fills a created folder in order; other folders stay empty."""
    dovecot.create_folder("Support.Done")
    raws = [_mail(n) for n in range(25)]
    dovecot.append_many(raws, folder="Support.Done")

    assert dovecot.fetch_all("Support.Done") == raws
    assert sorted(dovecot.flags("Support.Done")) == list(range(1, 26))
    assert dovecot.fetch_all() == []
    assert dovecot.flags() == {}
    assert dovecot.folder_path("Support.Done").is_dir()


def test_missing_folder_raises(dovecot: Dovecot) -> None:
    """Helpers report IMAP NO replies instead of returning empty results."""
    with pytest.raises(RuntimeError, match="SELECT"):
        dovecot.fetch_all("Nope")
    with pytest.raises(RuntimeError, match="STATUS"):
        dovecot.uidvalidity("Nope")


def test_restart_keeps_mail_uids_and_uidvalidity(dovecot: Dovecot) -> None:
    """A restart reuses port and Maildir: same mail, flags and UIDVALIDITY; UIDs keep counting."""
    dovecot.append(PLAIN_MAIL, flags="\\Seen")
    dovecot.append(EIGHT_BIT_MAIL)
    before = (dovecot.port, dovecot.uidvalidity(), dovecot.flags(), dovecot.fetch_all())

    dovecot.restart()

    assert (dovecot.port, dovecot.uidvalidity(), dovecot.flags(), dovecot.fetch_all()) == before
    dovecot.append(_mail(3))
    assert sorted(dovecot.flags()) == [1, 2, 3]


def test_stop_releases_port_and_processes(dovecot: Dovecot) -> None:
    """After stop() no instance process is left and the port is free; start() brings mail back."""
    dovecot.append(PLAIN_MAIL)
    prefix = f"dovecot-{dovecot.instance_name}/"
    assert _titled_processes(prefix), "expected running child processes"

    dovecot.stop()

    assert not dovecot.running
    assert _titled_processes(prefix) == []
    assert _port_bindable(dovecot.port)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((dovecot.host, dovecot.port), timeout=2).close()

    dovecot.start()
    assert dovecot.fetch_all() == [PLAIN_MAIL]


def test_recreate_inbox_assigns_new_uidvalidity(dovecot: Dovecot) -> None:
    """recreate_folder empties INBOX, changes UIDVALIDITY, restarts UIDs at 1; others stay."""
    dovecot.create_folder("Archive")
    dovecot.append(_mail(0), folder="Archive")
    archive_validity = dovecot.uidvalidity("Archive")
    dovecot.append_many([_mail(1), _mail(2)])
    old = dovecot.uidvalidity()

    dovecot.recreate_folder()

    new = dovecot.uidvalidity()
    assert new != old
    assert dovecot.fetch_all() == []
    dovecot.append(_mail(3))
    assert dovecot.flags() == {1: set()}
    assert dovecot.fetch_all("Archive") == [_mail(0)]
    assert dovecot.uidvalidity("Archive") == archive_validity
    # A fresh session sees the new value in its SELECT response too.
    conn = imaplib.IMAP4(dovecot.host, dovecot.port)
    conn.login(dovecot.user, dovecot.password)
    conn.select("INBOX")
    assert conn.untagged_responses["UIDVALIDITY"] == [str(new).encode()]
    conn.logout()


def test_recreate_subfolder_assigns_new_uidvalidity(dovecot: Dovecot) -> None:
    """recreate_folder works for non-INBOX folders and leaves INBOX alone."""
    dovecot.create_folder("Archive")
    dovecot.append(_mail(1), folder="Archive")
    dovecot.append(_mail(9))
    old, inbox = dovecot.uidvalidity("Archive"), dovecot.uidvalidity()

    dovecot.recreate_folder("Archive")

    assert dovecot.uidvalidity("Archive") != old
    assert dovecot.fetch_all("Archive") == []
    assert (dovecot.uidvalidity(), dovecot.fetch_all()) == (inbox, [_mail(9)])


def test_two_instances_are_independent(tmp_path: Path, dovecot: Dovecot) -> None:
    """A second instance gets its own port, instance name and mail."""
    with Dovecot(tmp_path / "second", user="other@example.test", password="pw2") as second:
        second.append(_mail(1))
        assert second.port != dovecot.port
        assert second.instance_name != dovecot.instance_name
        assert second.fetch_all() == [_mail(1)]
        assert dovecot.fetch_all() == []


def test_idle_pushes_new_mail(dovecot: Dovecot) -> None:
    """A client in IDLE hears about an append within a few seconds (inotify, ~0.5 s delay)."""
    with socket.create_connection((dovecot.host, dovecot.port), timeout=10) as sock:
        reader = sock.makefile("rb")
        reader.readline()
        sock.sendall(f'a LOGIN "{dovecot.user}" "{dovecot.password}"\r\n'.encode())
        _read_until(reader, b"a OK")
        sock.sendall(b"b SELECT INBOX\r\nc IDLE\r\n")
        _read_until(reader, b"+ ")
        started = time.monotonic()
        dovecot.append(PLAIN_MAIL)
        _read_until(reader, b"* 1 EXISTS")
        assert time.monotonic() - started < 5
        sock.sendall(b"DONE\r\n")
        _read_until(reader, b"c OK")
        reader.close()


def test_wrong_password_is_rejected(dovecot: Dovecot) -> None:
    """The passdb really checks the password."""
    conn = imaplib.IMAP4(dovecot.host, dovecot.port)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        conn.login(dovecot.user, "wrong")
    conn.logout()


def test_start_failure_reports_log(tmp_path: Path) -> None:
    """A busy port makes start() fail fast with Dovecot's own error, leaving nothing running."""
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        server = Dovecot(tmp_path / "busy", port=blocker.getsockname()[1])
        started = time.monotonic()
        with pytest.raises(RuntimeError, match="Address already in use"):
            server.start()
        assert time.monotonic() - started < 10
        assert not server.running
        assert _titled_processes(f"dovecot-{server.instance_name}/") == []
        server.close()


def test_plain_instance_offers_no_tls(dovecot: Dovecot) -> None:
    """Without a cert there is no IMAPS port and no STARTTLS capability."""
    conn = imaplib.IMAP4(dovecot.host, dovecot.port)
    assert dovecot.ssl_port is None
    assert "STARTTLS" not in conn.capabilities
    conn.logout()


def test_imaps_with_trusted_ca(tls_dovecot: Dovecot, tls_files: TlsFiles) -> None:
    """Implicit TLS on ssl_port verifies against the trustme CA and serves the same mailbox."""
    tls_dovecot.append(PLAIN_MAIL)
    assert tls_dovecot.ssl_port is not None
    conn = imaplib.IMAP4_SSL(
        tls_dovecot.host, tls_dovecot.ssl_port, ssl_context=tls_files.client_context()
    )
    conn.login(tls_dovecot.user, tls_dovecot.password)
    assert conn.select("INBOX") == ("OK", [b"1"])
    assert isinstance(conn.sock, ssl.SSLSocket)
    assert conn.sock.version() in {"TLSv1.2", "TLSv1.3"}
    conn.logout()


def test_imaps_rejects_untrusting_client(tls_dovecot: Dovecot) -> None:
    """A client that does not trust the test CA fails verification, so the cert is really in use."""
    assert tls_dovecot.ssl_port is not None
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL(
            tls_dovecot.host, tls_dovecot.ssl_port, ssl_context=ssl.create_default_context()
        )


def test_starttls_on_plain_port(tls_dovecot: Dovecot, tls_files: TlsFiles) -> None:
    """The plain port advertises STARTTLS and upgrades with a verified handshake."""
    conn = imaplib.IMAP4(tls_dovecot.host, tls_dovecot.port)
    assert "STARTTLS" in conn.capabilities
    conn.starttls(ssl_context=tls_files.client_context())
    assert isinstance(conn.sock, ssl.SSLSocket)
    conn.login(tls_dovecot.user, tls_dovecot.password)
    assert conn.select("INBOX") == ("OK", [b"0"])
    conn.logout()


def test_tls_args_must_come_together(tmp_path: Path, tls_files: TlsFiles) -> None:
    """A cert without a key is a usage error caught before anything starts."""
    with pytest.raises(ValueError, match="together"):
        Dovecot(tmp_path, tls_cert=tls_files.cert)


# -- SmtpReceiver ----------------------------------------------------------------------------------


def test_free_port_is_bindable() -> None:
    """free_port returns a port that can be bound right away."""
    assert _port_bindable(free_port())


def test_smtp_receives_8bit_smtputf8_message(smtp: SmtpReceiver) -> None:
    """A message with an 8-bit body and a UTF-8 sender is kept byte-exact with its envelope."""
    _send(
        smtp,
        "jörg@example.test",
        ["support@example.test", "cc@example.test"],
        EIGHT_BIT_MAIL,
        mail_options=["SMTPUTF8", "BODY=8BITMIME"],
    )
    [mail] = smtp.wait_for(1)
    assert mail.mail_from == "jörg@example.test"
    assert mail.rcpt_tos == ["support@example.test", "cc@example.test"]
    assert mail.data == EIGHT_BIT_MAIL
    assert smtp.messages == [mail]


def test_smtp_wait_for_blocks_until_messages_arrive(smtp: SmtpReceiver) -> None:
    """wait_for returns once enough messages came in from another thread."""

    def send_later() -> None:
        time.sleep(0.3)
        for n in range(3):
            _send(smtp, "bot@example.test", ["user@example.test"], _mail(n))

    sender = threading.Thread(target=send_later)
    sender.start()
    got = smtp.wait_for(3, timeout=10)
    sender.join()
    assert [m.data for m in got] == [_mail(0), _mail(1), _mail(2)]


def test_smtp_wait_for_times_out(smtp: SmtpReceiver) -> None:
    """wait_for raises TimeoutError when too few messages arrive."""
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="0 of 1"):
        smtp.wait_for(1, timeout=0.3)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("reply", ["550 5.1.1 no such user", "451 4.3.0 try later"])
def test_smtp_reply_code_rejects_and_keeps_nothing(smtp: SmtpReceiver, reply: str) -> None:
    """With reply_code set, DATA fails with that code and the message is dropped."""
    smtp.reply_code = reply
    with pytest.raises(smtplib.SMTPDataError) as excinfo:
        _send(smtp, "bot@example.test", ["user@example.test"], _mail(1))
    assert excinfo.value.smtp_code == int(reply[:3])
    assert smtp.messages == []

    smtp.reply_code = None
    _send(smtp, "bot@example.test", ["user@example.test"], _mail(2))
    assert [m.data for m in smtp.wait_for(1)] == [_mail(2)]


def test_smtp_stop_closes_port() -> None:
    """After stop() the port no longer accepts connections; clear() forgets messages."""
    receiver = SmtpReceiver()
    with receiver:
        _send(receiver, "a@example.test", ["b@example.test"], _mail(1))
        assert len(receiver.wait_for(1)) == 1
        receiver.clear()
        assert receiver.messages == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((receiver.host, receiver.port), timeout=2).close()
