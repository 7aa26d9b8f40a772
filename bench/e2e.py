#!/usr/bin/env python3
"""End-to-end benchmark: real Dovecot -> the mailbot daemon -> a real SMTP receiver.

    .venv/bin/python bench/e2e.py            # everything (about 52 min on 2 cores, see below)
    .venv/bin/python bench/e2e.py --quick    # 200 msgs in-process, 10 samples, RSS over 1,000
    .venv/bin/python bench/e2e.py --only throughput --sizes 1000   # one part
    .venv/bin/python bench/e2e.py --only throughput --sizes 1000 --profile   # + cProfile

Prints a table and writes bench/results/e2e.json (and e2e-profile.txt with --profile).

Parts (as root on a Debian 12 machine with dovecot-imapd, scripts/install-system-deps.sh):

- throughput: a fresh private Dovecot (mailbot.testing.servers.Dovecot) is loaded with N
  messages by MULTIAPPEND (LITERAL+, 200 per command; not timed with the daemon), then the
  daemon is timed from its start until every acknowledgement has arrived at the SMTP receiver.
  Two ways, for N = 1,000 and 10,000:
  * "daemon": the real `mailbot run --config ...` subprocess, nothing added; the headline.
  * "inproc": the same wiring in this process (mailbot.runners.app.build + run_forever, the
    loops `mailbot run` runs, minus the CLI's run lock and systemd notifier), with timers
    wrapped around the stage functions (parse, classify, store, render, send, fetch ...) to
    give the per-stage breakdown. Exclusive times: a stage nested in another (render inside
    Store.open_ticket) is subtracted from its parent. Async stages (fetch, send) are wall time
    on the event loop, which also runs the other loops. `run --once` is not used: it fetches
    everything, then processes everything, then sends, which is not how the daemon behaves.
- latency: the daemon runs idle in IMAP IDLE; one message at a time is APPENDed on a separate
  connection and the time until its acknowledgement (matched by In-Reply-To) reaches the
  receiver is recorded. Dovecot's own IDLE notification delay (~0.5 s, FIELD-NOTES) is in it.
- rss: the daemon subprocess is fed 50,000 messages in batches of 2,500 APPENDed while it runs
  (a new batch whenever fewer than one batch is waiting); VmRSS is read from /proc every second.

The SMTP receiver runs in its own process (aiosmtpd, configured like the harness's
SmtpReceiver, but it keeps nothing: it reports each arrival on a pipe), so it neither shares
this process's GIL with an in-process daemon nor grows to hold 50,000 messages.

Mail: a mix of English, Korean, Chinese and Japanese, 70 % composed from
models/training/train-*.jsonl (native charsets EUC-KR, GBK/GB18030, ISO-2022-JP, windows-1252
or UTF-8; some multipart/alternative with HTML, some with quoted history, a few with an
attachment) and 30 % from tests/corpus/mail/*.eml; every message has its own Message-ID and
sender (the daemon acknowledges at most 3 per sender per hour). The corpus robots (out-of-office,
lists, bounces, ~5 % of all) keep their sender; they become tickets without an acknowledgement.

Durations on the 2-core machine at ~60-75 msg/s (figures and analysis in bench/README.md):
--quick ~40 s; the full run ~20 min: throughput 1,000 ~40 s for both modes, 10,000 ~5 min for
both, latency ~1 min, and RSS over 50,000 ~13 min.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import email.utils
import functools
import imaplib
import io
import json
import logging
import os
import pstats
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path
from typing import Any

from mailbot.testing.servers import Dovecot, free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SUPPORT = "support@example.test"
PASSWORD = "bench-secret"
APPEND_BATCH = 200

# ----------------------------------------------------------------------------------------------
# Mail
# ----------------------------------------------------------------------------------------------

CHARSETS = {
    "en": ["utf-8", "us-ascii", "windows-1252"],
    "ko": ["euc-kr", "euc-kr", "utf-8"],
    "zh": ["gbk", "gb18030", "utf-8"],
    "ja": ["iso-2022-jp", "iso-2022-jp", "utf-8"],
}
NAMES = {
    "en": ["James Carter", "Emily Nguyen", "Olivia Brown", "Daniel Smith"],
    "ko": ["김민준", "이서연", "박지훈", "최유진"],
    "zh": ["王伟", "李娜", "张敏", "刘洋"],
    "ja": ["佐藤 健", "鈴木 花子", "高橋 大輔", "田中 美咲"],
}
DOMAINS = {
    "en": ["gmail.com", "outlook.com", "yahoo.com", "proton.me"],
    "ko": ["naver.com", "daum.net", "gmail.com"],
    "zh": ["qq.com", "163.com", "126.com", "sina.com"],
    "ja": ["yahoo.co.jp", "docomo.ne.jp", "gmail.com"],
}
ZONES = {"en": -5, "ko": 9, "zh": 8, "ja": 9}
QUOTE_INTRO = {
    "en": "On Mon, 3 Mar 2025 at 10:12, Support <support@example.test> wrote:",
    "ko": "-----Original Message-----\nFrom: Support <support@example.test>",
    "zh": "------------------ 原始邮件 ------------------\n发件人: Support",
    "ja": "2025年3月3日(月) 10:12 Support <support@example.test>:",
}
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_DROP = re.compile(rb"^(from|message-id|reply-to|sender):", re.IGNORECASE)


@dataclass(frozen=True)
class Mail:
    raw: bytes
    robot: bool  # becomes a ticket but gets no acknowledgement


def crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class MailFactory:
    """Deterministic, realistic support mail; no two messages share a Message-ID or sender."""

    def __init__(self, tag: str, seed: int = 7) -> None:
        self.tag = tag
        self._rng = random.Random(seed)
        self._rows: list[dict[str, str]] = []
        for path in sorted((ROOT / "models" / "training").glob("train-*.jsonl")):
            self._rows += [json.loads(line) for line in path.read_text().splitlines() if line]
        self._corpus: list[tuple[bytes, bool]] = []
        for eml in sorted((ROOT / "tests" / "corpus" / "mail").glob("*.eml")):
            meta = json.loads(eml.with_suffix(".json").read_text())
            robot = bool(meta.get("is_auto_reply") or meta.get("is_delivery_report"))
            self._corpus.append((eml.read_bytes(), robot))

    def make(self, i: int) -> Mail:
        if self._rng.random() < 0.3:
            raw, robot = self._rng.choice(self._corpus)
            return Mail(crlf(self._from_corpus(raw, robot, i)), robot)
        return Mail(crlf(self._compose(self._rng.choice(self._rows), i)), False)

    def _address(self, lang: str, i: int) -> tuple[str, str]:
        name = self._rng.choice(NAMES[lang])
        return name, f"user{i}.{self.tag}@{self._rng.choice(DOMAINS[lang])}"

    def _message_id(self, i: int) -> str:
        return f"<bench.{self.tag}.{i}.{self._rng.getrandbits(40):x}@mail.customer.example>"

    def _from_corpus(self, raw: bytes, robot: bool, i: int) -> bytes:
        """A corpus message with a new Message-ID and (unless it is a robot) a new sender."""
        cut = _HEADER_END.search(raw)
        head, body = (raw[: cut.start()], raw[cut.start() :]) if cut else (raw, b"")
        kept: list[bytes] = []
        dropping = False
        for line in head.replace(b"\r\n", b"\n").split(b"\n"):
            if line[:1] in (b" ", b"\t"):
                if not dropping:
                    kept.append(line)
                continue
            dropping = bool(_DROP.match(line)) and not (robot and line[:5].lower() == b"from:")
            if not dropping:
                kept.append(line)
        new = [f"Message-ID: {self._message_id(i)}".encode()]
        if not robot:
            name, addr = self._address("en", i)
            new.insert(0, f"From: {email.utils.formataddr((name, addr))}".encode())
        return b"\n".join(new + kept) + body

    def _compose(self, row: dict[str, str], i: int) -> bytes:
        lang = row.get("language") or "en"
        charset = self._rng.choice(CHARSETS.get(lang, ["utf-8"]))
        text = row["text"]
        if self._rng.random() < 0.3:
            text += "\n\n" + QUOTE_INTRO.get(lang, QUOTE_INTRO["en"]) + "\n"
            text += "\n".join(
                "> " + line for line in self._rng.choice(self._rows)["text"].split("\n")
            )
        try:
            msg = self._body(text, charset)
            subject = Header(row.get("subject") or "", charset).encode()
        except UnicodeEncodeError:
            charset = "utf-8"
            msg = self._body(text, charset)
            subject = Header(row.get("subject") or "", charset).encode()
        name, addr = self._address(lang, i)
        msg["From"] = email.utils.formataddr((str(Header(name, "utf-8").encode()), addr))
        msg["To"] = f"Support <{SUPPORT}>"
        msg["Subject"] = subject
        zone = timezone(timedelta(hours=ZONES.get(lang, 0)))
        msg["Date"] = email.utils.format_datetime(datetime.now(zone))
        msg["Message-ID"] = self._message_id(i)
        msg["MIME-Version"] = "1.0"
        return msg.as_bytes()

    def _body(self, text: str, charset: str) -> MIMEText | MIMEMultipart:
        plain = MIMEText(text, "plain", charset)
        roll = self._rng.random()
        if roll < 0.25:
            alt = MIMEMultipart("alternative")
            alt.attach(plain)
            paras = "".join(f"<p>{line}</p>" for line in text.split("\n") if line)
            alt.attach(MIMEText(f"<html><body>{paras}</body></html>", "html", charset))
            return alt
        if roll < 0.30:
            mixed = MIMEMultipart("mixed")
            mixed.attach(plain)
            blob = self._rng.randbytes(self._rng.randint(8_000, 40_000))
            part = MIMEApplication(blob, "pdf")
            part.add_header(
                "Content-Disposition",
                "attachment",
                filename=f"screenshot-{self._rng.randint(1, 99)}.pdf",
            )
            mixed.attach(part)
            return mixed
        return plain


# ----------------------------------------------------------------------------------------------
# Servers: MULTIAPPEND into Dovecot, an SMTP receiver in its own process
# ----------------------------------------------------------------------------------------------


def _imap_quote(text: str) -> bytes:
    return b'"' + text.replace("\\", "\\\\").replace('"', '\\"').encode() + b'"'


def _until_tagged(reader: io.BufferedReader, tag: bytes) -> bytes:
    while True:
        line = reader.readline()
        if not line:
            raise RuntimeError("IMAP connection closed")
        if line.startswith(tag + b" "):
            if not line.startswith(tag + b" OK"):
                raise RuntimeError(f"IMAP {line!r}")
            return line


def multiappend(dovecot: Dovecot, raws: list[bytes], batch: int = APPEND_BATCH) -> float:
    """APPEND `raws` to INBOX, `batch` per command (RFC 3502 + LITERAL+); seconds taken."""
    started = time.perf_counter()
    with socket.create_connection((dovecot.host, dovecot.port)) as sock:
        reader = sock.makefile("rb")
        reader.readline()
        sock.sendall(
            b"a LOGIN " + _imap_quote(dovecot.user) + b" " + _imap_quote(PASSWORD) + b"\r\n"
        )
        _until_tagged(reader, b"a")
        for n, start in enumerate(range(0, len(raws), batch)):
            tag = f"b{n}".encode()
            parts = [tag + b" APPEND INBOX"]
            for raw in raws[start : start + batch]:
                parts += [b" {%d+}\r\n" % len(raw), raw]
            sock.sendall(b"".join([*parts, b"\r\n"]))
            _until_tagged(reader, tag)
        sock.sendall(b"z LOGOUT\r\n")
    return time.perf_counter() - started


_RECEIVER_CODE = """
import re, sys, time, threading
from aiosmtpd.controller import Controller
irt = re.compile(rb"^In-Reply-To:[ \\t]*(<[^>\\r\\n]*>)", re.I | re.M)
lock = threading.Lock()
class Sink:
    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or b""
        head = data.split(b"\\r\\n\\r\\n", 1)[0]
        m = irt.search(head)
        with lock:
            sys.stdout.write("%.6f %s\\n" % (time.time(), m.group(1).decode() if m else "-"))
            sys.stdout.flush()
        return "250 2.0.0 OK: queued"
c = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]),
               server_hostname="smtp.mailbot.test", enable_SMTPUTF8=True)
c.start()
sys.stdout.write("ready\\n"); sys.stdout.flush()
sys.stdin.read()
c.stop()
"""


class Receiver:
    """aiosmtpd in a child process; arrivals (wall time, In-Reply-To) come back on a pipe."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _RECEIVER_CODE, str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        if self._proc.stdout.readline().strip() != "ready":
            raise RuntimeError("SMTP receiver did not start")
        self._cond = threading.Condition()
        self.arrivals: list[float] = []
        self.by_reply: dict[str, float] = {}
        threading.Thread(target=self._read, daemon=True).start()

    @property
    def pid(self) -> int:
        return self._proc.pid

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            stamp, reply = line.split(" ", 1)
            with self._cond:
                self.arrivals.append(float(stamp))
                self.by_reply[reply.strip()] = float(stamp)
                self._cond.notify_all()

    @property
    def count(self) -> int:
        with self._cond:
            return len(self.arrivals)

    def wait_count(self, n: int, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.arrivals) >= n, timeout)

    def wait_reply(self, message_id: str, timeout: float) -> float | None:
        with self._cond:
            self._cond.wait_for(lambda: message_id in self.by_reply, timeout)
            return self.by_reply.get(message_id)

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.wait(15)


@contextlib.contextmanager
def servers(work: Path) -> Iterator[tuple[Dovecot, Receiver]]:
    receiver = Receiver()
    try:
        with Dovecot(work / "dovecot", user=SUPPORT, password=PASSWORD) as dovecot:
            yield dovecot, receiver
    finally:
        receiver.close()


WORKERS = 1  # [processing] workers of the daemon under test (--workers)
EXISTING_DB = False  # --existing-db: the daemon's database is created before the timed run
SMTP_EXTRA: list[str] = []  # experiment: extra [smtp] lines (--smtp-connections)


def write_config(work: Path, dovecot: Dovecot, receiver: Receiver) -> Path:
    """Like tests/conftest.py's write_config, with the daemon's defaults (IDLE, poll 30 s)."""
    path = work / "mailbot.toml"
    smtp_extra = "".join(f"{line}\n" for line in SMTP_EXTRA)
    path.write_text(
        f"""
[imap]
host = "{dovecot.host}"
port = {dovecot.port}
username = "{dovecot.user}"
tls = "none"

[smtp]
host = "{receiver.host}"
port = {receiver.port}
tls = "none"
from_address = "{SUPPORT}"
from_name = "Example Exchange Support"
{smtp_extra}
[paths]
state_dir = "{work / "state"}"

[processing]
workers = {WORKERS}
""",
        encoding="utf-8",
    )
    return path


# ----------------------------------------------------------------------------------------------
# Process accounting
# ----------------------------------------------------------------------------------------------


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB of a process and its descendants (the daemon's prepare worker and
    multiprocessing's resource tracker), summed: the worker's shared library pages are counted
    twice, so this over-states what the daemon costs the machine rather than under-stating it.
    """
    values: dict[str, float] = {"VmRSS": 0.0, "VmHWM": 0.0}
    for member in tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                key, _, rest = line.partition(":")
                if key in values:
                    values[key] += int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def pss_mb(pid: int) -> float:
    """Proportional set size of a process and its descendants in MB: each shared page counts
    once across them (split between its sharers), so the sum is what they cost together."""
    total = 0.0
    for member in tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) / 1024
    return total


def tree(pid: int) -> list[int]:
    """`pid` and all its live descendants."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int(Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    """utime + stime of each live process, in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            found[pid] = (int(fields[11]) + int(fields[12])) / tick
    return found


def cpu_seconds(pids: list[int], since: dict[int, float] | None = None) -> float:
    """CPU seconds of the live processes among `pids` (since the `since` snapshot)."""
    since = since or {}
    return sum(cpu - since.get(pid, 0.0) for pid, cpu in cpu_by_pid(pids).items())


def dovecot_pids(dovecot: Dovecot) -> list[int]:
    prefix = f"dovecot-{dovecot.instance_name}/".encode()
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError):
                if Path(f"/proc/{name}/cmdline").read_bytes().startswith(prefix):
                    found.append(int(name))
    return found


# ----------------------------------------------------------------------------------------------
# The daemon as a subprocess
# ----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def daemon(config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`mailbot run` with stderr in `log`; SIGTERM at the end (it must exit 0)."""
    env = os.environ | {"MAILBOT_IMAP_PASSWORD": PASSWORD}
    with log.open("ab") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mailbot", "run", "--config", str(config)],
            env=env,
            stderr=sink,
            cwd=config.parent,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
        if code != 0:
            tail = log.read_text(errors="replace")[-2000:]
            print(f"daemon exited {code}:\n{tail}", file=sys.stderr)


def wait_log(log: Path, text: str, timeout: float = 60.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(errors="replace"):
            return time.perf_counter()
        time.sleep(0.02)
    raise TimeoutError(f"{text!r} not in {log} within {timeout}s")


def wait_acks(receiver: Receiver, expected: int, proc_alive: Callable[[], bool]) -> bool:
    """Until `expected` acknowledgements arrived; False when progress stopped for 60 s."""
    last, since = -1, time.monotonic()
    while not receiver.wait_count(expected, 0.5):
        if not proc_alive():
            return False
        if receiver.count != last:
            last, since = receiver.count, time.monotonic()
        elif time.monotonic() - since > 60:
            return False
    return True


def load_mailbox(dovecot: Dovecot, factory: MailFactory, start: int, n: int) -> tuple[int, float]:
    """APPEND n messages numbered from `start`; (acknowledgements expected, seconds)."""
    mails = [factory.make(i) for i in range(start, start + n)]
    took = multiappend(dovecot, [m.raw for m in mails])
    return sum(not m.robot for m in mails), took


def throughput_daemon(n: int, work: Path) -> dict[str, Any]:
    """The real `mailbot run` subprocess over n messages loaded before it starts."""
    with servers(work) as (dovecot, receiver):
        expected, load_s = load_mailbox(dovecot, MailFactory(f"d{n}"), 0, n)
        config = write_config(work, dovecot, receiver)
        if EXISTING_DB:  # as after any earlier start: this run is a restart
            from mailbot.adapters.db import make_engine, migrate
            from mailbot.settings import load_settings

            engine = make_engine(load_settings(config).database_url)
            migrate(engine)
            engine.dispose()
        log = work / "daemon.log"
        dove_cpu0 = cpu_by_pid(dovecot_pids(dovecot))  # the daemon's imap process is new
        recv_cpu0 = cpu_seconds([receiver.pid])
        started = time.perf_counter()
        wall0 = time.time()
        with daemon(config, log) as proc:
            ready = wait_log(log, "mailbot running") - started
            done = wait_acks(receiver, expected, lambda: proc.poll() is None)
            elapsed = time.perf_counter() - started
            cpu = cpu_seconds(tree(proc.pid))  # with the prepare worker
            dove_cpu = cpu_seconds(dovecot_pids(dovecot), dove_cpu0)
            peak = rss_mb(proc.pid)[1]
        arrivals = sorted(receiver.arrivals)
        return {
            "mode": "daemon",
            "messages": n,
            "acks_expected": expected,
            "acks_received": len(arrivals),
            "complete": done,
            "append_s": round(load_s, 2),
            "startup_s": round(ready, 2),
            "elapsed_s": round(elapsed, 2),
            "msgs_per_s": round(n / elapsed, 1),
            "acks_per_s": round(len(arrivals) / elapsed, 1),
            "steady_msgs_per_s": _steady(arrivals, wall0 + ready, n),
            "first_ack_s": round(arrivals[0] - wall0, 2) if arrivals else None,
            "cpu_daemon_s": round(cpu, 1),
            "cpu_dovecot_s": round(dove_cpu, 1),
            "cpu_receiver_s": round(cpu_seconds([receiver.pid]) - recv_cpu0, 1),
            "peak_rss_mb": round(peak, 1),
        }


def _steady(arrivals: list[float], ready_at: float, n: int) -> float | None:
    """Messages per second from the daemon being ready to the last acknowledgement."""
    if not arrivals or arrivals[-1] <= ready_at:
        return None
    return round(n / (arrivals[-1] - ready_at), 1)


# ----------------------------------------------------------------------------------------------
# The daemon in this process, with stage timers
# ----------------------------------------------------------------------------------------------


@dataclass
class Stage:
    calls: int = 0
    total: float = 0.0  # wall time, exclusive of nested timed stages
    cpu: float = 0.0  # this thread's CPU time, exclusive too (sync stages only)


@dataclass
class Timers:
    stages: dict[str, Stage] = field(default_factory=dict)
    _local: threading.local = field(default_factory=threading.local)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _add(self, name: str, wall: float, cpu: float) -> None:
        with self._lock:
            stage = self.stages.setdefault(name, Stage())
            stage.calls += 1
            stage.total += wall
            stage.cpu += cpu

    def sync(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Time a blocking function; nested timed calls are subtracted from it.

        Wall minus CPU is time spent waiting: for I/O, for a lock, or for the GIL, which the
        event loop thread holds in turns (sys.getswitchinterval(), 5 ms by default).
        """

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            stack: list[list[float]] = self._local.__dict__.setdefault("stack", [])
            stack.append([0.0, 0.0])
            started, cpu_started = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                wall = time.perf_counter() - started
                cpu = time.thread_time() - cpu_started
                nested = stack.pop()
                if stack:
                    stack[-1][0] += wall
                    stack[-1][1] += cpu
                self._add(name, wall - nested[0], cpu - nested[1])

        return timed

    def coro(self, name: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        """Time a coroutine function (wall time, other tasks interleave)."""

        @functools.wraps(fn)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                self._add(name, time.perf_counter() - started, float("nan"))

        return timed


# (stage, module, attribute, async?) -- patched on the class or module the daemon looks it up in.
PATCHES: list[tuple[str, str, str, bool]] = [
    ("fetch (IMAP UID FETCH)", "mailbot.adapters.imap:ImapMailbox", "fetch", True),
    ("flag \\Seen (IMAP)", "mailbot.adapters.imap:ImapMailbox", "mark_seen", True),
    ("uid search (IMAP)", "mailbot.adapters.imap:ImapMailbox", "uids_after", True),
    ("ingest commit (db)", "mailbot.adapters.store:Store", "store_fetched", False),
    ("process: read queue (db)", "mailbot.adapters.store:Store", "pending_inbox", False),
    ("parse", "mailbot.runners.prepare", "parse", False),
    ("thread + loop lookups (db)", "mailbot.adapters.store:Batch", "thread_lookup", False),
    ("thread + loop lookups (db)", "mailbot.adapters.store:Batch", "recent_tickets_from", False),
    ("thread + loop lookups (db)", "mailbot.adapters.store:Batch", "recent_acks_to", False),
    ("classify: model predict", "mailbot.adapters.modelstore:SklearnModel", "predict", False),
    ("classify: model predict", "mailbot.adapters.modelstore:SklearnModel", "predict_many", False),
    ("classify: model explain", "mailbot.adapters.modelstore:SklearnModel", "explain", False),
    ("classify: model predict", "mailbot.adapters.runtimemodel:RuntimeModel", "predict", False),
    (
        "classify: model predict",
        "mailbot.adapters.runtimemodel:RuntimeModel",
        "predict_many",
        False,
    ),
    ("classify: model explain", "mailbot.adapters.runtimemodel:RuntimeModel", "explain", False),
    ("classify: rest (lang, rules)", "mailbot.runners.prepare", "classify", False),
    ("decide (sla)", "mailbot.runners.process", "decide", False),
    ("faq suggest", "mailbot.core.faq:FaqIndex", "suggest", False),
    ("faq suggest", "mailbot.core.faq:FaqIndex", "suggest_many", False),
    ("render", "mailbot.runners.process", "render_ack", False),
    ("store ticket+outbox (db)", "mailbot.adapters.store:Batch", "open_ticket", False),
    ("store: commit (db)", "mailbot.adapters.store:Batch", "commit", False),
    ("process: other", "mailbot.runners.process:Processor", "_process_item", False),
    ("process: other", "mailbot.runners.process:Processor", "_prepare", False),
    ("outbox: read due (db)", "mailbot.adapters.store:Store", "due_outbox", False),
    ("send: MAIL, RCPT, DATA (SMTP)", "mailbot.adapters.smtp:SmtpConnection", "begin", True),
    ("send: body, 250 (SMTP)", "mailbot.adapters.smtp:SmtpConnection", "finish", True),
    ("mark sent (db)", "mailbot.adapters.store:Store", "mark_sent", False),
    ("escalation scan", "mailbot.runners.escalate:Escalator", "_scan", False),
]


def _target(spec: str) -> Any:
    module, _, cls = spec.partition(":")
    mod = __import__(module, fromlist=["_"])
    return getattr(mod, cls) if cls else mod


@contextlib.contextmanager
def instrumented(timers: Timers) -> Iterator[None]:
    saved: list[tuple[Any, str, Any]] = []
    for name, spec, attr, is_async in PATCHES:
        owner = _target(spec)
        original = (owner.__dict__ if isinstance(owner, type) else vars(owner)).get(attr)
        if original is None:  # renamed in the package: time the rest, and say so
            print(f"warning: {spec}.{attr} not found; stage {name!r} not timed", file=sys.stderr)
            continue
        saved.append((owner, attr, original))
        wrapped = timers.coro(name, original) if is_async else timers.sync(name, original)
        setattr(owner, attr, wrapped)
    try:
        yield
    finally:
        for owner, attr, original in reversed(saved):
            setattr(owner, attr, original)


@contextlib.contextmanager
def profiled(enabled: bool, out: Path) -> Iterator[None]:
    """cProfile of the event loop thread and of the processing worker thread."""
    if not enabled:
        yield
        return
    from mailbot.runners.process import Processor

    worker_stats: list[pstats.Stats] = []
    original = Processor._process_all

    def process_all(self: Processor, *args: Any) -> int:
        prof = cProfile.Profile()
        prof.enable()
        try:
            return original(self, *args)
        finally:
            prof.disable()
            worker_stats.append(pstats.Stats(prof))

    Processor._process_all = process_all  # type: ignore[method-assign,assignment]
    main = cProfile.Profile()
    main.enable()
    try:
        yield
    finally:
        main.disable()
        Processor._process_all = original  # type: ignore[method-assign]
        _write_profile(out, main, worker_stats)


def _write_profile(out: Path, main: cProfile.Profile, worker: list[pstats.Stats]) -> None:
    text = io.StringIO()
    text.write("== processing worker thread (parse .. store), by own time\n")
    if worker:
        merged = worker[0]
        for more in worker[1:]:
            merged.add(more)
        merged.dump_stats(out.with_name("e2e-worker.prof"))
        merged.stream = text  # type: ignore[attr-defined]
        merged.sort_stats("tottime").print_stats(30)
        merged.sort_stats("cumulative").print_stats(40)
    text.write("\n== event loop thread (IMAP, SMTP, loops), by own time\n")
    main.dump_stats(out.with_name("e2e-loop.prof"))
    stats = pstats.Stats(main, stream=text)
    stats.sort_stats("tottime").print_stats(30)
    out.write_text(text.getvalue())


async def _lag_probe(samples: list[float], stop: asyncio.Event) -> None:
    """How late a 10 ms sleep wakes up: time the event loop was blocked (or GIL-starved)."""
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.01)
        samples.append(time.perf_counter() - started - 0.01)


async def _inproc_run(config: Path, log: Path, receiver: Receiver, expected: int) -> dict[str, Any]:
    from mailbot.logconfig import configure_from
    from mailbot.runners.app import build, run_forever
    from mailbot.settings import load_settings

    os.environ["MAILBOT_IMAP_PASSWORD"] = PASSWORD
    started = time.perf_counter()
    settings = load_settings(config)
    sink = log.open("a")
    with contextlib.redirect_stderr(sink):
        configure_from(settings)  # the daemon's logging, into the log file
    app = build(settings)
    ready = time.perf_counter() - started
    lags: list[float] = []
    stop_probe = asyncio.Event()
    probe = asyncio.create_task(_lag_probe(lags, stop_probe))

    async def stopper() -> None:
        while not await asyncio.to_thread(receiver.wait_count, expected, 0.5):
            pass
        os.kill(os.getpid(), signal.SIGTERM)  # run_forever's own handler: stop and drain

    watcher = asyncio.create_task(stopper())
    code = await run_forever(app)
    elapsed = time.perf_counter() - started
    stop_probe.set()
    await probe
    watcher.cancel()
    logging.getLogger().handlers.clear()
    sink.close()
    lags.sort()
    return {
        "code": code,
        "startup_s": round(ready, 2),
        "elapsed_s": round(elapsed, 2),
        "loop_lag_total_s": round(sum(lags), 2),
        "loop_lag_p99_ms": round(lags[int(0.99 * (len(lags) - 1))] * 1000, 1) if lags else None,
        "loop_lag_max_ms": round(lags[-1] * 1000, 1) if lags else None,
    }


def throughput_inproc(n: int, work: Path, profile: bool) -> dict[str, Any]:
    """The daemon's loops in this process, with a timer around each stage."""
    with servers(work) as (dovecot, receiver):
        expected, load_s = load_mailbox(dovecot, MailFactory(f"i{n}"), 0, n)
        config = write_config(work, dovecot, receiver)
        timers = Timers()
        cpu0 = os.times()
        with instrumented(timers), profiled(profile, RESULTS / "e2e-profile.txt"):
            run = asyncio.run(_inproc_run(config, work / "inproc.log", receiver, expected))
        cpu1 = os.times()
        received = receiver.count
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    return {
        "mode": "inproc",
        "messages": n,
        "acks_expected": expected,
        "acks_received": received,
        "append_s": round(load_s, 2),
        **run,
        "msgs_per_s": round(n / run["elapsed_s"], 1),
        "cpu_daemon_s": round(cpu, 1),
        "stages": {
            k: {
                "calls": v.calls,
                "total_s": round(v.total, 3),
                "cpu_s": None if v.cpu != v.cpu else round(v.cpu, 3),
                "ms_per_msg": round(v.total / n * 1000, 3),
            }
            for k, v in timers.stages.items()
        },
    }


# ----------------------------------------------------------------------------------------------
# Latency and RSS
# ----------------------------------------------------------------------------------------------


def latency(samples: int, work: Path) -> dict[str, Any]:
    """APPEND one message -> its acknowledgement at the receiver, with the daemon in IDLE."""
    factory = MailFactory("lat")
    with servers(work) as (dovecot, receiver):
        config = write_config(work, dovecot, receiver)
        log = work / "daemon.log"
        with daemon(config, log), imaplib.IMAP4(dovecot.host, dovecot.port) as conn:
            wait_log(log, "mailbot running")
            conn.login(dovecot.user, PASSWORD)
            times: list[float] = []
            i = 0
            while len(times) < samples + 3:  # the first 3 warm up (first classify, first SMTP)
                mail = factory.make(i)
                i += 1
                if mail.robot:
                    continue
                mid = _message_id(mail.raw)
                sent = time.time()
                conn.append("INBOX", None, None, mail.raw)
                got = receiver.wait_reply(mid, 30)
                if got is None:
                    raise TimeoutError(f"no acknowledgement for {mid} within 30 s")
                times.append(got - sent)
                time.sleep(random.uniform(0.1, 0.4))  # not in phase with anything
    measured = sorted(times[3:])
    return {
        "samples": len(measured),
        "p50_s": round(statistics.median(measured), 3),
        "p95_s": round(_nearest_rank(measured, 0.95), 3),
        "max_s": round(measured[-1], 3),
        "min_s": round(measured[0], 3),
    }


def _message_id(raw: bytes) -> str:
    found = re.search(rb"^Message-ID:[ \t]*(<[^>]*>)", raw, re.I | re.M)
    assert found is not None
    return found.group(1).decode()


def _nearest_rank(values: list[float], q: float) -> float:
    return values[max(0, min(len(values) - 1, -(-int(q * len(values) * 1000) // 1000) - 1))]


def rss(total: int, batch: int, work: Path) -> dict[str, Any]:
    """RSS of the daemon subprocess every second while it works through `total` messages."""
    factory = MailFactory("rss")
    with servers(work) as (dovecot, receiver):
        config = write_config(work, dovecot, receiver)
        log = work / "daemon.log"
        samples: list[tuple[float, int, float, float]] = []  # (s, acks, RSS MB, PSS MB)
        with daemon(config, log) as proc:
            started = time.perf_counter()
            wait_log(log, "mailbot running")
            stop = threading.Event()
            sampler = threading.Thread(
                target=_sample_rss, args=(proc.pid, receiver, started, samples, stop), daemon=True
            )
            time.sleep(1.0)
            sampler.start()
            expected = _feed(dovecot, receiver, factory, total, batch)
            done = wait_acks(receiver, expected, lambda: proc.poll() is None)
            elapsed = time.perf_counter() - started
            time.sleep(2.5)  # a few idle samples at the end
            stop.set()
            sampler.join()
            hwm = rss_mb(proc.pid)[1]
    return _rss_summary(samples, total, expected, receiver.count, done, elapsed, hwm)


def _feed(
    dovecot: Dovecot, receiver: Receiver, factory: MailFactory, total: int, batch: int
) -> int:
    """APPEND `batch` at a time whenever fewer than `batch` acknowledgements are outstanding."""
    expected = 0
    for start in range(0, total, batch):
        while expected - receiver.count > batch:
            time.sleep(0.2)
        added, _ = load_mailbox(dovecot, factory, start, min(batch, total - start))
        expected += added
    return expected


def _sample_rss(
    pid: int,
    receiver: Receiver,
    started: float,
    out: list[tuple[float, int, float, float]],
    stop: threading.Event,
) -> None:
    while not stop.wait(1.0):
        with contextlib.suppress(OSError):
            out.append((time.perf_counter() - started, receiver.count, rss_mb(pid)[0], pss_mb(pid)))


def _rss_summary(
    samples: list[tuple[float, int, float, float]],
    total: int,
    expected: int,
    received: int,
    done: bool,
    elapsed: float,
    hwm: float,
) -> dict[str, Any]:
    def at(fraction: float) -> float:
        """RSS at the first sample after `fraction` of the acknowledgements arrived."""
        goal = fraction * expected
        return next((r for _, acks, r, _ in samples if acks >= goal), samples[-1][2])

    marks = {f"rss_at_{int(f * 100)}pct_mb": round(at(f), 1) for f in (0.2, 0.4, 0.6, 0.8, 1.0)}
    rates = _rates_by_fifth(samples, expected)
    return {
        "messages": total,
        "acks_expected": expected,
        "acks_received": received,
        "complete": done,
        "elapsed_s": round(elapsed, 1),
        "msgs_per_s": round(total / elapsed, 1),
        "rss_start_mb": round(samples[0][2], 1),
        "rss_peak_mb": round(max(s[2] for s in samples), 1),
        "rss_median_mb": round(statistics.median(s[2] for s in samples), 1),
        "vm_hwm_mb": round(hwm, 1),
        "rss_end_mb": round(samples[-1][2], 1),
        "pss_start_mb": round(samples[0][3], 1),
        "pss_median_mb": round(statistics.median(s[3] for s in samples), 1),
        "pss_peak_mb": round(max(s[3] for s in samples), 1),
        **marks,
        "acks_per_s_by_fifth": rates,
        "samples": [(round(t, 1), a, round(r, 1), round(p, 1)) for t, a, r, p in samples],
    }


def _rates_by_fifth(samples: list[tuple[float, int, float, float]], expected: int) -> list[float]:
    """Acknowledgements per second in each fifth of the run: does it slow down as the database
    grows?"""
    rates = []
    for k in range(5):
        lo, hi = k * expected / 5, (k + 1) * expected / 5
        inside = [(s[0], s[1]) for s in samples if lo <= s[1] <= hi]
        if len(inside) >= 2 and inside[-1][0] > inside[0][0]:
            rates.append(round((inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0]), 1))
    return rates


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------


def print_report(result: dict[str, Any]) -> None:
    rows = result.get("throughput", [])
    if rows:
        print(
            f"\n{'throughput':<10} {'msgs':>6} {'acks':>6} {'startup':>8} {'elapsed':>8} "
            f"{'msg/s':>7} {'steady':>7} {'cpu mb':>7} {'cpu dv':>7} {'rss':>6}"
        )
        for r in rows:
            print(
                f"{r['mode']:<10} {r['messages']:>6} {r['acks_received']:>6} "
                f"{r['startup_s']:>7.1f}s {r['elapsed_s']:>7.1f}s {r['msgs_per_s']:>7.1f} "
                f"{r.get('steady_msgs_per_s') or '':>7} {r['cpu_daemon_s']:>7.1f} "
                f"{r.get('cpu_dovecot_s', ''):>7} {r.get('peak_rss_mb', ''):>6}"
            )
    for r in rows:
        if "stages" in r:
            _print_stages(r)
    lat = result.get("latency")
    if lat:
        print(
            f"\nlatency APPEND -> ack ({lat['samples']} samples, IDLE): p50 {lat['p50_s']:.3f} s, "
            f"p95 {lat['p95_s']:.3f} s, min {lat['min_s']:.3f} s, max {lat['max_s']:.3f} s"
        )
    mem = result.get("rss")
    if mem:
        marks = ", ".join(f"{k[7:-6]}% {v}" for k, v in mem.items() if k.startswith("rss_at_"))
        print(
            f"\nRSS over {mem['messages']} msgs ({mem['elapsed_s']} s, {mem['msgs_per_s']} msg/s): "
            f"start {mem['rss_start_mb']} MB, peak {mem['rss_peak_mb']} MB, end "
            f"{mem['rss_end_mb']} MB; at {marks} MB"
        )
        print(
            f"PSS (shared pages counted once): start {mem['pss_start_mb']} MB, median "
            f"{mem['pss_median_mb']} MB, peak {mem['pss_peak_mb']} MB"
        )
        print(f"acks/s in each fifth of the run: {mem['acks_per_s_by_fifth']}")


def _print_stages(r: dict[str, Any]) -> None:
    n = r["messages"]
    print(
        f"\nstages, in-process run over {n} messages ({r['elapsed_s']} s wall, "
        f"{r['cpu_daemon_s']} s CPU; event loop lag total {r['loop_lag_total_s']} s, "
        f"p99 {r['loop_lag_p99_ms']} ms, max {r['loop_lag_max_ms']} ms)"
    )
    print(f"{'stage':<32} {'calls':>7} {'wall s':>8} {'cpu s':>8} {'ms/msg':>8} {'% wall':>7}")
    for name, s in sorted(r["stages"].items(), key=lambda kv: -kv[1]["total_s"]):
        share = 100 * s["total_s"] / r["elapsed_s"]
        cpu = "-" if s["cpu_s"] is None else f"{s['cpu_s']:.2f}"
        print(
            f"{name:<32} {s['calls']:>7} {s['total_s']:>8.2f} {cpu:>8} "
            f"{s['ms_per_msg']:>8.2f} {share:>6.1f}%"
        )


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="200 msgs, 10 samples, RSS over 1,000")
    p.add_argument("--only", default="throughput,latency,rss", help="parts, comma-separated")
    p.add_argument("--sizes", default=None, help="throughput sizes (default 1000,10000)")
    p.add_argument("--modes", default=None, help="throughput modes (daemon,inproc)")
    p.add_argument("--samples", type=int, default=None, help="latency samples (default 50)")
    p.add_argument("--rss-total", type=int, default=None, help="messages for RSS (50000)")
    p.add_argument("--profile", action="store_true", help="cProfile the in-process runs")
    p.add_argument("--workers", type=int, default=1, help="[processing] workers: 1 (default) or 0")
    p.add_argument(
        "--existing-db",
        action="store_true",
        help="daemon throughput as on a restart: the database is created and migrated before "
        "the timed run; the default times a first start, schema creation included",
    )
    p.add_argument(
        "--switch-interval",
        type=float,
        default=None,
        help="experiment: sys.setswitchinterval() for the in-process runs (default 0.005)",
    )
    p.add_argument(
        "--smtp-connections",
        type=int,
        default=None,
        help="experiment: smtp.connections for the daemon (default: the daemon's default)",
    )
    p.add_argument("--out", default=None, help="JSON file (default bench/results/e2e.json)")
    return p.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    global WORKERS, EXISTING_DB
    WORKERS = args.workers
    EXISTING_DB = args.existing_db
    if args.smtp_connections is not None:
        SMTP_EXTRA.append(f"connections = {args.smtp_connections}")
    sizes = [int(s) for s in (args.sizes or ("200" if args.quick else "1000,10000")).split(",")]
    modes = args.modes or ("inproc" if args.quick else "daemon,inproc")
    samples = args.samples or (10 if args.quick else 50)
    rss_total = args.rss_total or (1000 if args.quick else 50_000)
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    parts = set(args.only.split(","))
    RESULTS.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores",
        "quick": args.quick,
        "switch_interval": sys.getswitchinterval(),
    }
    out = Path(args.out) if args.out else RESULTS / ("e2e-quick.json" if args.quick else "e2e.json")

    def save() -> None:  # after every part, so a long run that fails later keeps what it had
        out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")

    with tempfile.TemporaryDirectory(prefix="mbe2e-") as tmp:
        base = Path(tmp)
        if "throughput" in parts:
            result["throughput"] = []
            for n in sizes:
                for mode in modes.split(","):
                    work = base / f"tp-{mode}-{n}"
                    work.mkdir()
                    row = (
                        throughput_daemon(n, work)
                        if mode == "daemon"
                        else throughput_inproc(n, work, args.profile)
                    )
                    print(f"# {mode} {n}: {row['msgs_per_s']} msg/s", file=sys.stderr)
                    result["throughput"].append(row)
                    save()
        if "latency" in parts:
            (base / "lat").mkdir()
            result["latency"] = latency(samples, base / "lat")
            save()
        if "rss" in parts:
            (base / "rss").mkdir()
            batch = min(2500, max(200, rss_total // 10))
            result["rss"] = rss(rss_total, batch, base / "rss")
            save()
    print_report(result)
    print(f"\nJSON: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
