"""Real mail servers for tests and demos: a private Dovecot (IMAP) and an in-process SMTP sink."""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller

__all__ = ["Dovecot", "ReceivedMail", "SmtpReceiver", "free_port"]

START_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0
IMAP_TIMEOUT = 10.0
LOG_TAIL_LINES = 40
# Flags that describe the session rather than the message; callers never want them.
_SESSION_FLAGS = frozenset({"\\Recent"})


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on `host` that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _find_dovecot() -> str:
    """Locate the dovecot binary, preferring Debian's path."""
    search = os.pathsep.join(["/usr/sbin", "/usr/local/sbin", os.environ.get("PATH", "")])
    found = shutil.which("dovecot", path=search)
    return found or "/usr/sbin/dovecot"


def _port_free(host: str, port: int) -> bool:
    """Tell whether `port` can be bound again, the way Dovecot binds it (SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """Return (state, ppid) of a process, or None when it no longer exists."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may contain spaces and parentheses, so split after the last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def _alive(pid: int) -> bool:
    """Tell whether a process exists and is not a zombie (zombies hold no sockets)."""
    stat = _proc_stat(pid)
    return stat is not None and stat[0] != "Z"


def _all_pids() -> list[int]:
    """List the pids currently visible in /proc."""
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _descendants(root: int) -> set[int]:
    """Return the pids of every live descendant of `root`."""
    children: dict[int, list[int]] = {}
    for pid in _all_pids():
        stat = _proc_stat(pid)
        if stat is not None:
            children.setdefault(stat[1], []).append(pid)
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _titled(prefix: str) -> set[int]:
    """Return live pids whose process title starts with `prefix`."""
    # Dovecot titles its children 'dovecot-<instance_name>/<service>', which is unique per instance.
    found: set[int] = set()
    encoded = prefix.encode()
    for pid in _all_pids():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if cmdline.startswith(encoded) and _alive(pid):
            found.add(pid)
    return found


def _signal_all(pids: Iterable[int], sig: signal.Signals) -> None:
    """Send `sig` to each pid, ignoring ones that already exited."""
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, sig)


def _kill_leftover(proc: subprocess.Popen[bytes]) -> None:
    """Last-resort cleanup at interpreter exit for an instance nobody stopped."""
    if proc.poll() is None:
        # Children notice the master's death through its pipe and exit on their own.
        proc.kill()
        with suppress(subprocess.TimeoutExpired):
            proc.wait(STOP_TIMEOUT)


def _quote_mailbox(name: str) -> str:
    """Quote a mailbox name for imaplib, which sends arguments verbatim."""
    if not name.isascii():
        raise ValueError(f"only ASCII folder names are supported (no modified UTF-7): {name!r}")
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(result: tuple[str, list[Any]], what: str) -> list[Any]:
    """Return the data of an OK imaplib response, else raise RuntimeError."""
    typ, data = result
    if typ != "OK":
        raise RuntimeError(f"IMAP {what} failed: {typ} {data!r}")
    return data


def _parse_flags(data: list[Any]) -> dict[int, set[str]]:
    """Parse `UID FETCH (UID FLAGS)` response lines into uid -> flags."""
    result: dict[int, set[str]] = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if not isinstance(line, bytes):
            continue
        uid = re.search(rb"\bUID (\d+)", line)
        flags = re.search(rb"\bFLAGS \(([^)]*)\)", line)
        if uid and flags:
            names = set(flags.group(1).decode().split()) - _SESSION_FLAGS
            result[int(uid.group(1))] = names
    return result


def _parse_bodies(data: list[Any]) -> list[bytes]:
    """Parse `UID FETCH (UID BODY.PEEK[])` responses into raw messages sorted by UID."""
    bodies: dict[int, bytes] = {}
    for index, item in enumerate(data):
        if not isinstance(item, tuple):
            continue
        uid = re.search(rb"\bUID (\d+)", item[0])
        if uid is None:
            # The server may put UID after the literal; it then arrives as the next bytes item.
            following = data[index + 1] if index + 1 < len(data) else b""
            uid = re.search(rb"\bUID (\d+)", following if isinstance(following, bytes) else b"")
        if uid is None:
            raise RuntimeError(f"FETCH response without UID: {item[0]!r}")
        bodies[int(uid.group(1))] = item[1]
    return [bodies[uid] for uid in sorted(bodies)]


def _wipe_maildir_folder(path: Path) -> None:
    """Delete a Maildir folder's messages, UID list and index files; keep subfolders."""
    for sub in ("cur", "new", "tmp"):
        for entry in (path / sub).iterdir():
            entry.unlink()
    for entry in path.iterdir():
        # dovecot.list.index* and dovecot-uidvalidity* belong to the whole mailbox list, so stay.
        per_folder = entry.name == "dovecot-uidlist" or entry.name.startswith("dovecot.index")
        if per_folder and entry.is_file():
            entry.unlink()


@dataclass(frozen=True)
class _Identity:
    """Unix accounts the Dovecot processes run as."""

    uid: int
    gid: int
    login_user: str
    internal_user: str
    internal_group: str
    as_root: bool


def _identity() -> _Identity:
    """Pick accounts: Debian's mail/dovenull/dovecot as root, else the current user."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid()).pw_name
        group = grp.getgrgid(os.getegid()).gr_name
        return _Identity(os.geteuid(), os.getegid(), me, me, group, as_root=False)
    try:
        mail = pwd.getpwnam("mail")
        pwd.getpwnam("dovenull")
        pwd.getpwnam("dovecot")
    except KeyError as exc:
        hint = "run scripts/install-system-deps.sh"
        raise RuntimeError(f"missing system account {exc}; {hint}") from exc
    # Dovecot refuses to run mail processes as uid 0, so mail belongs to the unprivileged 'mail'.
    return _Identity(mail.pw_uid, mail.pw_gid, "dovenull", "dovecot", "dovecot", as_root=True)


class Dovecot:
    """A private Dovecot instance on loopback, with its own config in `workdir`."""

    host: str
    port: int
    ssl_port: int | None
    user: str
    password: str

    def __init__(
        self,
        workdir: Path,
        *,
        user: str = "support@example.test",
        password: str = "secret",
        port: int | None = None,
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
        oauth2_introspection_url: str | None = None,
    ) -> None:
        """Prepare (but do not start) an instance; ports are reserved now so restarts reuse them."""
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("tls_cert and tls_key must be given together")
        if ":" in user or ":" in password or "\n" in user + password:
            raise ValueError("user and password must not contain ':' or newlines (passwd-file)")
        self.workdir = Path(workdir)
        self.host = "127.0.0.1"
        self.port = port if port is not None else free_port(self.host)
        self.ssl_port = self._other_port() if tls_cert is not None else None
        self.user = user
        self.password = password
        self.tls_cert = Path(tls_cert) if tls_cert is not None else None
        self.tls_key = Path(tls_key) if tls_key is not None else None
        # XOAUTH2 tokens are checked by POSTing them to this URL (RFC 7662 introspection).
        self.oauth2_introspection_url = oauth2_introspection_url
        self._identity = _identity()
        self._private: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._reaper: weakref.finalize[[subprocess.Popen[bytes]], Dovecot] | None = None

    def _other_port(self) -> int:
        """Pick a free port distinct from the plain one (bind(0) may hand out the same twice)."""
        while (candidate := free_port(self.host)) == self.port:
            pass
        return candidate

    def __repr__(self) -> str:
        """Show where the instance listens."""
        return f"Dovecot(port={self.port}, ssl_port={self.ssl_port}, workdir={str(self.workdir)!r})"

    # -- paths -------------------------------------------------------------------------------

    @property
    def config_path(self) -> Path:
        """Path of the generated dovecot.conf."""
        return self.workdir / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        """Path of Dovecot's own log (all services)."""
        return self.workdir / "dovecot.log"

    @property
    def maildir(self) -> Path:
        """Path of the user's Maildir (INBOX); only valid after start()."""
        return self._private_dir() / "home" / self.user / "Maildir"

    @property
    def instance_name(self) -> str:
        """Unique Dovecot instance name, used in process titles."""
        return self._private_dir().name

    @property
    def _title_prefix(self) -> str:
        """Process-title prefix of this instance's children."""
        return f"dovecot-{self.instance_name}/"

    @property
    def running(self) -> bool:
        """Tell whether the master process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def _private_dir(self) -> Path:
        """Create (once) the world-traversable /tmp dir holding runtime sockets and mail."""
        if self._private is None:
            # pytest's tmp dirs are 0700 but uid 8 must reach the Maildir; sockets need short paths.
            self._private = Path(tempfile.mkdtemp(prefix="mbdv-", dir="/tmp"))
            self._private.chmod(0o755)
            weakref.finalize(self, shutil.rmtree, str(self._private), ignore_errors=True)
        return self._private

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """Return the last lines of Dovecot's log and console output, for error messages."""
        parts = []
        for path in (self.log_path, self.workdir / "dovecot.out"):
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path.name} ---\n" + "\n".join(text))
        return "\n".join(parts) or "(no log output)"

    # -- configuration -----------------------------------------------------------------------

    def _write_files(self) -> None:
        """Write dovecot.conf into workdir; passwd-file and mail home into the private dir."""
        private = self._private_dir()
        ident = self._identity
        for sub in ("run", "state"):
            (private / sub).mkdir(mode=0o755, exist_ok=True)
        home = private / "home"
        home.mkdir(mode=0o755, exist_ok=True)
        os.chown(home, ident.uid, ident.gid)
        users = private / "users"
        # The auth process runs as the internal user and must read this file.
        users.write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        users.chmod(0o644)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self._config_text())

    def _config_text(self) -> str:
        """Render the complete dovecot.conf; /etc/dovecot is never read."""
        private = self._private_dir()
        ident = self._identity
        lines = [
            "# Generated by mailbot.testing.servers.Dovecot for a private test instance.",
            f"instance_name = {private.name}",
            f"base_dir = {private / 'run'}",
            f"state_dir = {private / 'state'}",
            f"listen = {self.host}",
            "protocols = imap",
            f"log_path = {self.log_path}",
            f"info_log_path = {self.log_path}",
            f"default_login_user = {ident.login_user}",
            f"default_internal_user = {ident.internal_user}",
            f"default_internal_group = {ident.internal_group}",
            f"first_valid_uid = {ident.uid}",
            f"first_valid_gid = {ident.gid}",
            # Loopback-only test server: allow LOGIN without TLS and fail wrong passwords fast.
            "disable_plaintext_auth = no",
            "auth_mechanisms = plain login"
            + (" xoauth2 oauthbearer" if self.oauth2_introspection_url else ""),
            "auth_failure_delay = 0",
            "mail_location = maildir:~/Maildir",
            "mail_fsync = never",
            # The daemon under test may hold several IDLE connections next to the harness's own.
            "mail_max_userip_connections = 100",
            *self._ssl_lines(),
            "passdb {",
            "  driver = passwd-file",
            f"  args = scheme=PLAIN {private / 'users'}",
            "  mechanisms = plain login",
            "}",
            *self._oauth2_lines(),
            "userdb {",
            "  driver = static",
            f"  args = uid={ident.uid} gid={ident.gid} home={private / 'home'}/%u",
            "}",
            "service imap-login {",
            f"  inet_listener imap {{\n    port = {self.port}\n  }}",
            # Port 0 disables the listener.
            f"  inet_listener imaps {{\n    port = {self.ssl_port or 0}\n  }}",
            *self._unprivileged_lines(),
            "}",
            *self._unprivileged_services(),
        ]
        return "\n".join(lines) + "\n"

    def _oauth2_lines(self) -> list[str]:
        if not self.oauth2_introspection_url:
            return []
        conf = self._private_dir() / "oauth2.conf"
        conf.write_text(
            "introspection_mode = post\n"
            f"introspection_url = {self.oauth2_introspection_url}\n"
            "username_attribute = username\n"
            "active_attribute = active\n"
            "active_value = true\n",
            encoding="utf-8",
        )
        conf.chmod(0o644)
        return [
            "passdb {",
            "  driver = oauth2",
            "  mechanisms = xoauth2 oauthbearer",
            f"  args = {conf}",
            "}",
        ]

    def _ssl_lines(self) -> list[str]:
        """Return TLS settings: off without a cert, optional (STARTTLS + IMAPS) with one."""
        if self.tls_cert is None or self.tls_key is None:
            return ["ssl = no"]
        return [
            "ssl = yes",
            f"ssl_cert = <{self.tls_cert.resolve()}",
            f"ssl_key = <{self.tls_key.resolve()}",
        ]

    def _unprivileged_lines(self) -> list[str]:
        """Return imap-login overrides needed when not root (chroot requires root)."""
        return [] if self._identity.as_root else ["  chroot ="]

    def _unprivileged_services(self) -> list[str]:
        """Return service overrides needed when not root."""
        if self._identity.as_root:
            return []
        return [
            "service anvil {",
            "  chroot =",
            "}",
            "service auth-worker {",
            "  user = $default_internal_user",
            "}",
        ]

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Write the config, start the master and wait for an IMAP greeting."""
        if self.running:
            raise RuntimeError("Dovecot is already running")
        if not os.path.exists(_find_dovecot()):
            raise RuntimeError("dovecot not installed; run scripts/install-system-deps.sh")
        self._write_files()
        with open(self.workdir / "dovecot.out", "ab") as out:
            # -F keeps the master as our child so we can wait() on it; its stdio must go to a
            # file because the master keeps it open for its lifetime (pipes would never close).
            self._proc = subprocess.Popen(
                [_find_dovecot(), "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self._reaper = weakref.finalize(self, _kill_leftover, self._proc)
        try:
            self._wait_until_ready(time.monotonic() + START_TIMEOUT)
        except BaseException:
            # The ports may belong to someone else (one way to fail), so don't wait for them;
            # and never let cleanup trouble hide the original error.
            with suppress(RuntimeError):
                self._shutdown(graceful=False, wait_ports=False)
            raise

    def _wait_until_ready(self, deadline: float) -> None:
        """Poll until the plain port answers '* OK', failing early if the master exits."""
        assert self._proc is not None
        while True:
            code = self._proc.poll()
            if code is not None:
                raise RuntimeError(f"dovecot exited with {code} during start\n{self.log_tail()}")
            if self._greets():
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"no IMAP greeting on port {self.port}\n{self.log_tail()}")
            time.sleep(0.05)

    def _greets(self) -> bool:
        """Tell whether the plain IMAP port answers with an OK greeting."""
        try:
            with (
                socket.create_connection((self.host, self.port), timeout=2) as sock,
                sock.makefile("rb") as reader,
            ):
                return reader.readline().startswith(b"* OK")
        except OSError:
            return False

    def stop(self) -> None:
        """Stop gracefully (SIGTERM, ~1 s) and wait for all processes and ports; mail is kept."""
        self._shutdown(graceful=True)

    def _shutdown(self, *, graceful: bool, wait_ports: bool = True) -> None:
        """Signal the master (SIGTERM, or SIGKILL for the whole tree) and wait until all is gone."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if self._reaper is not None:
            self._reaper.detach()
        pending = _descendants(proc.pid) | _titled(self._title_prefix)
        if graceful:
            proc.terminate()
        else:
            # Master first, so it cannot respawn the services we kill next.
            _signal_all([proc.pid, *pending], signal.SIGKILL)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT)
        self._wait_gone(pending)
        if wait_ports:
            self._wait_ports_free()

    def _wait_gone(self, pending: set[int]) -> None:
        """Wait for leftover children to exit, SIGKILLing them after half the timeout."""
        deadline = time.monotonic() + STOP_TIMEOUT
        killed = False
        while True:
            pending = {pid for pid in pending if _alive(pid)} | _titled(self._title_prefix)
            if not pending:
                return
            if not killed and time.monotonic() > deadline - STOP_TIMEOUT / 2:
                _signal_all(pending, signal.SIGKILL)
                killed = True
            if time.monotonic() > deadline:
                raise RuntimeError(f"dovecot pids {sorted(pending)} still alive\n{self.log_tail()}")
            time.sleep(0.05)

    def _wait_ports_free(self) -> None:
        """Wait until our listening ports can be bound again."""
        deadline = time.monotonic() + STOP_TIMEOUT
        ports = [p for p in (self.port, self.ssl_port) if p]
        while not all(_port_free(self.host, p) for p in ports):
            if time.monotonic() > deadline:
                raise RuntimeError(f"ports {ports} still busy after dovecot stopped")
            time.sleep(0.05)

    def restart(self) -> None:
        """Stop and start again on the same ports with the same Maildir."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Kill the instance and delete its private runtime/mail dir (workdir and logs stay)."""
        # Dovecot's graceful shutdown always takes ~1.1 s; SIGKILL is fine when mail is discarded.
        self._shutdown(graceful=False)
        if self._private is not None:
            shutil.rmtree(self._private, ignore_errors=True)
            self._private = None

    def __enter__(self) -> Dovecot:
        """Start the instance."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the instance and delete its mail."""
        self.close()

    # -- IMAP helpers (stdlib imaplib, plain LOGIN) ------------------------------------------

    @contextmanager
    def _imap(self) -> Iterator[imaplib.IMAP4]:
        """Open a logged-in imaplib connection and always log out afterwards."""
        conn = imaplib.IMAP4(self.host, self.port, timeout=IMAP_TIMEOUT)
        try:
            conn.login(self.user, self.password)
            yield conn
        finally:
            with suppress(imaplib.IMAP4.error, OSError):
                conn.logout()

    @staticmethod
    def _select(conn: imaplib.IMAP4, folder: str, *, readonly: bool) -> int:
        """Select (or EXAMINE) a folder and return its message count."""
        data = _check(conn.select(_quote_mailbox(folder), readonly=readonly), f"SELECT {folder}")
        return int(data[0])

    def append(self, raw: bytes, folder: str = "INBOX", flags: str = "") -> None:
        """Append one raw message; `flags` is e.g. '\\Seen \\Flagged'; bare LF becomes CRLF."""
        with self._imap() as conn:
            result = conn.append(_quote_mailbox(folder), flags or None, None, raw)
            _check(result, f"APPEND {folder}")

    def append_many(self, raws: list[bytes], folder: str = "INBOX") -> None:
        """Append many raw messages over one connection."""
        mailbox = _quote_mailbox(folder)
        with self._imap() as conn:
            for raw in raws:
                _check(conn.append(mailbox, None, None, raw), f"APPEND {folder}")

    def flags(self, folder: str = "INBOX") -> dict[int, set[str]]:
        """Return uid -> flags (without the per-session \\Recent) using a read-only EXAMINE."""
        with self._imap() as conn:
            if not self._select(conn, folder, readonly=True):
                return {}
            return _parse_flags(_check(conn.uid("FETCH", "1:*", "(UID FLAGS)"), "UID FETCH FLAGS"))

    def clear_flag(self, flag: str = "\\Seen", folder: str = "INBOX") -> None:
        """Remove `flag` from every message in the folder."""
        with self._imap() as conn:
            if self._select(conn, folder, readonly=False):
                _check(conn.uid("STORE", "1:*", "-FLAGS.SILENT", f"({flag})"), "UID STORE")

    def uidvalidity(self, folder: str = "INBOX") -> int:
        """Return the folder's UIDVALIDITY via STATUS."""
        with self._imap() as conn:
            data = _check(conn.status(_quote_mailbox(folder), "(UIDVALIDITY)"), f"STATUS {folder}")
        match = re.search(rb"UIDVALIDITY (\d+)", data[0])
        if match is None:
            raise RuntimeError(f"no UIDVALIDITY in STATUS reply: {data!r}")
        return int(match.group(1))

    def create_folder(self, name: str) -> None:
        """Create a folder ('.' is the hierarchy separator)."""
        with self._imap() as conn:
            _check(conn.create(_quote_mailbox(name)), f"CREATE {name}")

    def fetch_all(self, folder: str = "INBOX") -> list[bytes]:
        """Return every raw message in UID order without setting \\Seen."""
        with self._imap() as conn:
            if not self._select(conn, folder, readonly=True):
                return []
            data = _check(conn.uid("FETCH", "1:*", "(UID BODY.PEEK[])"), "UID FETCH BODY")
            return _parse_bodies(data)

    def folder_path(self, folder: str = "INBOX") -> Path:
        """Return the on-disk Maildir++ directory of a folder."""
        if folder.upper() == "INBOX":
            return self.maildir
        return self.maildir / f".{folder}"

    def recreate_folder(self, folder: str = "INBOX") -> None:
        """Empty a folder on disk and drop its index so Dovecot assigns a new UIDVALIDITY.

        Sessions that have the folder selected get disconnected ("Mailbox was deleted under us").
        """
        old = self.uidvalidity(folder)
        path = self.folder_path(folder)
        if not (path / "cur").is_dir():
            raise FileNotFoundError(f"no Maildir folder at {path}")
        _wipe_maildir_folder(path)
        # The next access rebuilds dovecot-uidlist with the next value from dovecot-uidvalidity.
        new = self.uidvalidity(folder)
        if new == old:
            raise RuntimeError(f"UIDVALIDITY of {folder} did not change ({old})")


@dataclass(frozen=True)
class ReceivedMail:
    """One message accepted by SmtpReceiver."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes


class _SinkHandler:
    """aiosmtpd handler that hands DATA to its SmtpReceiver."""

    def __init__(self, receiver: SmtpReceiver) -> None:
        """Remember the receiver."""
        self._receiver = receiver

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Keep the message, or answer with the receiver's reply_code."""
        return self._receiver._accept(envelope)


class SmtpReceiver:
    """aiosmtpd Controller in a background thread; keeps every message it accepts."""

    host: str
    port: int
    reply_code: str | None

    def __init__(self, *, host: str = "127.0.0.1", port: int | None = None) -> None:
        """Prepare (but do not start) the receiver."""
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.reply_code = None
        self._messages: list[ReceivedMail] = []
        self._cond = threading.Condition()
        self._controller: Controller | None = None

    def __repr__(self) -> str:
        """Show where the receiver listens."""
        return f"SmtpReceiver(host={self.host!r}, port={self.port})"

    @property
    def messages(self) -> list[ReceivedMail]:
        """Return a snapshot of the accepted messages (copied under the lock)."""
        with self._cond:
            return list(self._messages)

    def clear(self) -> None:
        """Forget all accepted messages."""
        with self._cond:
            self._messages.clear()

    def _accept(self, envelope: Any) -> str:
        """Store a message unless reply_code is set; return the SMTP reply to DATA."""
        reply = self.reply_code
        if reply is not None:
            return reply
        mail = ReceivedMail(
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            data=envelope.original_content or b"",
        )
        with self._cond:
            self._messages.append(mail)
            self._cond.notify_all()
        return "250 2.0.0 OK: queued"

    def start(self) -> None:
        """Start listening in a background thread."""
        if self._controller is not None:
            raise RuntimeError("SmtpReceiver is already running")
        # A fixed server_hostname avoids socket.getfqdn(), which can stall on broken DNS.
        controller = Controller(
            _SinkHandler(self),
            hostname=self.host,
            port=self.port,
            server_hostname="smtp.mailbot.test",
            enable_SMTPUTF8=True,
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Stop listening and join the thread."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> SmtpReceiver:
        """Start the receiver."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the receiver."""
        self.stop()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        """Block until at least `count` messages arrived and return them, else TimeoutError."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._messages) >= count, timeout):
                got = len(self._messages)
                raise TimeoutError(f"received {got} of {count} messages within {timeout}s")
            return list(self._messages)
