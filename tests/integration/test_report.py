"""`mailbot report` on a real seeded database, and its HTML page opened in real Chromium.

The figures asserted here were worked out by hand from the eight tickets below (see each
test). Timestamps are relative to today, because the SLA rule compares due times with the
real clock of the `mailbot report` process: every margin is hours wide.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from mailbot.adapters.db import make_engine, migrate
from mailbot.adapters.tables import EscalationRow, InboxMessage, Outbox, Ticket

TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
D = TODAY - timedelta(days=10)  # the first day of the reported period
H = timedelta(hours=1)
XSS = "<script>alert(1)</script>"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass(frozen=True)
class Seed:
    received: datetime
    category: str
    urgency: str
    language: str
    confidence: float
    subject: str
    due: timedelta
    response: timedelta | None = None  # first_response_at - received
    resolved: timedelta | None = None  # resolved_at - received
    triage: bool = False
    ack: str | None = "sent"  # outbox status of the acknowledgement, None: no row
    ack_after: timedelta = timedelta(0)


# fmt: off
SEEDS = [
    # 1 critical, answered in 30 min of a 1 h promise: met
    Seed(D + 24 * H + 9 * H, "deposit_withdrawal", "critical", "ko", 0.95,
         "Deposit 500 USDT missing", H, response=H / 2, resolved=5 * H,
         ack_after=timedelta(seconds=5)),
    # 2 critical, answered after 2 h of a 1 h promise: late
    Seed(D + 24 * H + 10 * H, "deposit_withdrawal", "critical", "en", 0.85,
         "Re: deposit 20 USDT missing", H, response=2 * H, resolved=6 * H,
         ack_after=timedelta(seconds=10)),
    # 3 critical, never answered, long past due: unanswered past due; escalated twice
    Seed(D + 48 * H + 8 * H, "security_incident", "critical", "zh", 0.9, XSS, H,
         ack_after=timedelta(seconds=15)),
    # 4 high, answered in 1 h of 4 h: met; needs triage
    Seed(D + 48 * H + 12 * H, "trading", "high", "en", 0.6, "Deposit 7 USDT missing", 4 * H,
         response=H, resolved=9 * H, triage=True, ack_after=timedelta(seconds=20)),
    # 5 high, answered in 3 h of 4 h: met
    Seed(D + 72 * H + 12 * H, "trading", "high", "ja", 0.7, "API key", 4 * H,
         response=3 * H, resolved=30 * H, ack_after=timedelta(seconds=25)),
    # 6 normal, never answered, past due: unanswered past due; escalated once; needs triage
    Seed(D + 72 * H + 13 * H, "technical", "normal", "en", 0.4, "api  KEY", 24 * H,
         triage=True, ack_after=timedelta(seconds=30)),
    # 7 low, closed after 10 h without a recorded reply, promise 48 h: met (by resolution)
    Seed(D + 96 * H + 9 * H, "fees_general", "low", "en", 0.8, "fees", 48 * H,
         resolved=10 * H, ack="dead"),
    # 8 high, received yesterday, due in days: not yet due, excluded from compliance
    Seed(TODAY - 18 * H, "verification_compliance", "high", "ko", 0.5, XSS, 120 * H,
         ack="pending"),
    # 9 outside the period (before --since): counted nowhere
    Seed(D - 5 * 24 * H, "trading", "critical", "en", 0.1, "API key", H,
         ack_after=timedelta(seconds=999)),
]
# fmt: on


def seed_database(path: Path) -> None:
    """The tickets above, their acknowledgements, escalations and quarantined messages."""
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with Session(engine) as s:
        ids = [_add_ticket(s, n, seed) for n, seed in enumerate(SEEDS, 1)]
        escalations = [(ids[2], 1), (ids[2], 2), (ids[5], 1), (ids[8], 1)]
        for ticket_id, level in escalations:
            s.add(
                EscalationRow(
                    ticket_id=ticket_id, level=level, due_at=D, reason="seeded", created_at=D
                )
            )
        for uid, (at, status, reason) in enumerate(
            [
                (D + 30 * H, "quarantined", "noise: auto-submitted (auto-replied)"),
                (D + 50 * H, "quarantined", "ValueError: <b>broken</b> header"),
                (D - 48 * H, "quarantined", "noise: outside the period"),
                (D + 60 * H, "processed", ""),
            ],
            1,
        ):
            s.add(_inbox(uid, at, status, reason))
        s.commit()
    engine.dispose()


def _add_ticket(s: Session, n: int, seed: Seed) -> int:
    resolved = seed.received + seed.resolved if seed.resolved else None
    ticket = Ticket(
        ref=f"MB-{n:06d}",
        customer_address=f"c{n}@customer.test",
        subject=seed.subject,
        category=seed.category,
        urgency=seed.urgency,
        language=seed.language,
        status="resolved" if resolved else "open",
        needs_triage=seed.triage,
        confidence=seed.confidence,
        received_at=seed.received,
        first_response_due=seed.received + seed.due,
        first_response_at=seed.received + seed.response if seed.response else None,
        resolved_at=resolved,
        created_at=seed.received,
    )
    s.add(ticket)
    s.flush()
    assert ticket.id is not None
    if seed.ack is not None:
        sent = seed.received + seed.ack_after if seed.ack == "sent" else None
        s.add(
            Outbox(
                ticket_id=ticket.id,
                kind="ack",
                seq=0,
                message_id=f"<{ticket.ref}.ack@example.test>",
                sender="support@example.test",
                recipients=ticket.customer_address,
                raw=b"Subject: ack\r\n\r\nok\r\n",
                status=seed.ack,
                next_attempt_at=seed.received,
                created_at=seed.received,
                sent_at=sent,
            )
        )
    return ticket.id


def _inbox(uid: int, at: datetime, status: str, reason: str) -> InboxMessage:
    return InboxMessage(
        account="a",
        mailbox="INBOX",
        uidvalidity=1,
        uid=uid,
        dedupe_key=f"mid:<q{uid}@x>",
        message_id=f"<q{uid}@x>",
        raw_sha256="0" * 64,
        raw=b"Subject: x\r\n\r\nbody\r\n",
        size=20,
        status=status,
        reason=reason,
        fetched_at=at,
        processed_at=at,
    )


@pytest.fixture
def report_config(tmp_path: Path) -> Path:
    """A config whose servers are never contacted, on the seeded database."""
    seed_database(tmp_path / "mailbot.db")
    path = tmp_path / "mailbot.toml"
    path.write_text(
        '[imap]\nhost = "127.0.0.1"\nusername = "s@example.test"\ntls = "none"\n'
        '[smtp]\nhost = "127.0.0.1"\ntls = "none"\nfrom_address = "s@example.test"\n'
        f'[database]\nurl = "sqlite:///{tmp_path / "mailbot.db"}"\n',
        encoding="utf-8",
    )
    return path


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailbot", "report", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )


PERIOD = ("--since", D.date().isoformat(), "--until", TODAY.date().isoformat())


def test_json_figures_match_the_hand_worked_ones(report_config: Path) -> None:
    done = cli(report_config, *PERIOD, "--format", "json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)

    assert doc["period"]["since"] == D.strftime("%Y-%m-%dT00:00:00Z")
    assert doc["period"]["until"] == (TODAY + 24 * H).strftime("%Y-%m-%dT00:00:00Z")
    assert doc["tickets"] == {"total": 8, "by_status": {"resolved": 5, "open": 3}}
    volume = doc["volume"]
    assert volume["category"] == {
        "deposit_withdrawal": 2,
        "trading": 2,
        "fees_general": 1,
        "security_incident": 1,
        "technical": 1,
        "verification_compliance": 1,
    }
    assert list(volume["urgency"].items()) == [
        ("critical", 3),
        ("high", 3),
        ("normal", 1),
        ("low", 1),
    ]  # in the taxonomy's order
    assert volume["language"] == {"en": 4, "ko": 2, "ja": 1, "zh": 1}
    days = {d["date"]: d for d in volume["per_day"]}
    assert len(days) == 11  # D .. today, days without tickets included
    expected_days = Counter(seed.received.date().isoformat() for seed in SEEDS[:8])
    assert {k: d["total"] for k, d in days.items() if d["total"]} == expected_days
    assert days[(D + 72 * H).date().isoformat()]["urgency"] == {
        "critical": 0,
        "high": 1,
        "normal": 1,
        "low": 0,
    }

    # Answered: 30 min, 1 h, 2 h, 3 h. Nearest rank: p50 = 2nd = 1 h; p90 = 4th = 3 h.
    assert doc["first_response"] == {
        "answered": 4,
        "unanswered": 4,
        "p50_seconds": 3600.0,
        "p90_seconds": 10800.0,
    }
    # Met: 1, 4, 5, 7 (by resolution); late: 2; unanswered past due: 3, 6; not yet due: 8.
    sla = doc["sla"]
    assert "not yet due are left out" in sla["rule"]
    assert (sla["met"], sla["breached"], sla["answered_late"]) == (4, 3, 1)
    assert (sla["unanswered_past_due"], sla["excluded_not_yet_due"]) == (2, 1)
    assert sla["compliance_pct"] == 57.1  # 4 / 7
    assert {u: v["compliance_pct"] for u, v in sla["by_urgency"].items()} == {
        "critical": 33.3,
        "high": 100.0,
        "normal": 0.0,
        "low": 100.0,
    }
    assert doc["escalations"] == {
        "total": 3,
        "by_level": [
            {"level": 1, "escalations": 2, "tickets": 2},
            {"level": 2, "escalations": 1, "tickets": 1},
        ],
    }
    # Acks sent after 5, 10, 15, 20, 25, 30 s: p50 = 3rd = 15 s, p90 = 6th = 30 s.
    assert doc["acknowledgements"] == {
        "tickets": {"sent": 6, "pending": 1, "dead": 1, "none": 0},
        "p50_seconds": 15.0,
        "p90_seconds": 30.0,
    }
    # Confidences 0.4 0.5 0.6 0.7 0.8 0.85 0.9 0.95: p10 = 1st, p50 = 4th, p90 = 8th.
    assert doc["classifier"] == {
        "confidence": {"count": 8, "p10": 0.4, "p50": 0.7, "p90": 0.95},
        "needs_triage": 2,
        "triage_rate_pct": 25.0,
    }
    assert [(t["topic"], t["count"]) for t in doc["top_topics"]] == [
        ("deposit # usdt missing", 3),
        ("<script>alert(#)</script>", 2),  # digits are made alike
        ("api key", 2),
    ]
    quarantine = doc["quarantine"]
    assert quarantine["total"] == 2
    assert quarantine["by_reason"] == {"ValueError": 1, "noise": 1}
    assert [q["reason"] for q in quarantine["messages"]] == [
        "noise: auto-submitted (auto-replied)",
        "ValueError: <b>broken</b> header",
    ]
    assert quarantine["messages"][0]["fetched_at"] == (D + 30 * H).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_default_period_and_table(report_config: Path) -> None:
    """Without dates: the last 30 days, which holds all nine tickets."""
    doc = json.loads(cli(report_config, "--format", "json").stdout)
    assert doc["tickets"]["total"] == 9
    table = cli(report_config, *PERIOD)
    assert table.returncode == 0, table.stderr
    assert "SLA compliance" in table.stdout and "57.1 %" in table.stdout
    assert "1h 00m / 3h 00m" in table.stdout  # first response p50 / p90


def test_usage_and_runtime_errors(report_config: Path, tmp_path: Path) -> None:
    backwards = cli(report_config, "--since", "2026-11-02", "--until", "2026-11-01")
    assert backwards.returncode == 2 and "empty" in backwards.stderr
    assert cli(report_config, "--since", "yesterday").returncode == 2
    missing = tmp_path / "missing.toml"
    missing.write_text(
        report_config.read_text().replace("mailbot.db", "nothing-here.db"), encoding="utf-8"
    )
    gone = cli(missing)
    assert gone.returncode == 1 and "no database" in gone.stderr
    assert "Traceback" not in gone.stderr + backwards.stderr


def test_html_report_loads_every_chart_in_chromium(report_config: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    done = cli(report_config, *PERIOD, "--format", "html", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    page = out.read_text(encoding="utf-8")

    # Standalone: every src is an embedded PNG; no link, script or URL to fetch anything.
    sources = re.findall(r'\bsrc="([^"]*)"', page)
    assert len(sources) == 6
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"https?://|<link\b|<script\b|\burl\(", page)
    # The customer's subject is shown as text, escaped; so is a quarantine reason.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;broken&lt;/b&gt;" in page

    seen = open_in_chromium(out, tmp_path / "chromium")
    assert seen["scripts"] == 0  # the subject did not become a script element
    assert XSS in seen["text"]  # ... but is there as text a person reads
    assert seen["title"].startswith("Support report")
    images = seen["images"]
    assert len(images) == 6
    widths = [png_size(s) for s in sources]
    for image, (width, height) in zip(images, widths, strict=True):
        assert image["complete"] and image["naturalWidth"] > 0, image
        assert (image["naturalWidth"], image["naturalHeight"]) == (width, height)
        assert image["renderedWidth"] > 0
    for needle in ("Tickets", "SLA compliance", "57.1 %", "First response p50", "1h 00m"):
        assert needle in seen["text"]


def png_size(data_uri: str) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk."""
    png = base64.b64decode(data_uri.split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


# --- Chromium over the DevTools protocol, on a pipe (no port, no websocket library) -------
PAGE_FACTS = """
JSON.stringify({
  images: Array.from(document.images, i => ({
    complete: i.complete, naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight,
    renderedWidth: i.getBoundingClientRect().width})),
  scripts: document.scripts.length,
  title: document.title,
  text: document.body.textContent,
})
"""


def open_in_chromium(page: Path, profile: Path) -> dict[str, Any]:
    """Load `page` in headless Chromium and read what the browser made of it."""
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: run scripts/install-system-deps.sh as root")
    with DevTools(CHROMIUM, profile) as tools:
        target = tools.call("Target.createTarget", url="about:blank")["targetId"]
        session = tools.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        tools.call("Page.enable", session=session)
        tools.call("Page.navigate", session=session, url=page.as_uri())
        tools.wait_for("Page.loadEventFired", session)
        result = tools.call(
            "Runtime.evaluate", session=session, expression=PAGE_FACTS, returnByValue=True
        )
        facts: dict[str, Any] = json.loads(result["result"]["value"])
        if os.environ.get("MAILBOT_REPORT_SCREENSHOT"):  # for a person to look at the page
            shot = tools.call("Page.captureScreenshot", session=session, captureBeyondViewport=True)
            Path(os.environ["MAILBOT_REPORT_SCREENSHOT"]).write_bytes(
                base64.b64decode(shot["data"])
            )
        return facts


def _above_4(fd: int) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


class DevTools:
    """Chromium with --remote-debugging-pipe: it reads commands on fd 3, answers on fd 4."""

    def __init__(self, binary: str, profile: Path, timeout: float = 60.0) -> None:
        self.binary, self.profile, self.timeout = binary, profile, timeout
        self.next_id, self.buffer, self.events = 0, b"", list[dict[str, Any]]()

    def __enter__(self) -> DevTools:
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()
        # The child's ends must not be 3 or 4 themselves, or the redirections clobber them.
        to_browser_r, from_browser_w = _above_4(to_browser_r), _above_4(from_browser_w)
        args = [
            self.binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={self.profile}",
            "--remote-debugging-pipe",
            "--window-size=1280,900",
        ]
        self.proc = subprocess.Popen(
            ["bash", "-c", f'exec "$@" 3<&{to_browser_r} 4>&{from_browser_w}', "bash", *args],
            pass_fds=(to_browser_r, from_browser_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.call("Browser.close")
        except (OSError, TimeoutError, RuntimeError):
            self.proc.kill()
        finally:
            self.proc.wait(timeout=30)
            os.close(self.to_browser)
            os.close(self.from_browser)

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply["result"]
                return result
            self.events.append(reply)

    def wait_for(self, event: str, session: str) -> dict[str, Any]:
        while True:
            for i, seen in enumerate(self.events):
                if seen.get("method") == event and seen.get("sessionId") == session:
                    return self.events.pop(i)
            self.events.append(self._read())

    def _read(self) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.from_browser], [], [], left)[0]:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self.from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        parsed: dict[str, Any] = json.loads(raw)
        return parsed
