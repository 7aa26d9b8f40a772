#!/usr/bin/env python3
"""The main job, end to end, on embedded defaults.

Starts a private Dovecot (IMAP) and an SMTP receiver on loopback, delivers the sample support
emails in scripts/demo-mail/ (English, Korean, Chinese, Japanese, and one out-of-office robot),
runs the real `mailbot run` daemon until every acknowledgement has arrived, stops it with
SIGTERM, and shows the tickets and one acknowledgement as the customer receives it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path

from mailbot.testing.servers import Dovecot, SmtpReceiver

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "demo"
SUPPORT = "support@example.test"
EXPECTED_ACKS = 5  # six sample mails; the out-of-office reply gets a ticket but no ack


def write_config(dovecot: Dovecot, smtp: SmtpReceiver) -> Path:
    config = WORK / "mailbot.toml"
    config.write_text(
        f"""# Written by scripts/demo.py: local servers on loopback, SQLite in ./state.
[imap]
host = "{dovecot.host}"
port = {dovecot.port}
username = "{SUPPORT}"
tls = "none"          # loopback only; use "ssl" or "starttls" for a real server
poll_interval = 1.0

[smtp]
host = "{smtp.host}"
port = {smtp.port}
tls = "none"
from_address = "{SUPPORT}"
from_name = "Example Exchange Support"

[paths]
state_dir = "state"
""",
        encoding="utf-8",
    )
    return config


def mailbot(*args: str) -> list[str]:
    return [sys.executable, "-m", "mailbot", *args]


def run_daemon(config: Path, smtp: SmtpReceiver) -> None:
    env = os.environ | {"MAILBOT_IMAP_PASSWORD": "demo-password"}
    daemon = subprocess.Popen(mailbot("run", "--config", str(config)), env=env)
    try:
        smtp.wait_for(EXPECTED_ACKS, timeout=90)
        time.sleep(1.0)  # let the last "sent" marks commit before we stop it
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=30)
    print(f"\n== daemon stopped by SIGTERM, exit code {code}")
    if code != 0:
        raise SystemExit(code)


def show_results(config: Path, smtp: SmtpReceiver) -> None:
    print("\n== mailbot tickets list")
    subprocess.run(mailbot("tickets", "list", "--config", str(config)), check=True)
    ack = message_from_bytes(smtp.messages[1].data, policy=policy.default)
    print(f"\n== {len(smtp.messages)} acknowledgements received by the SMTP server; one of them:")
    for name in ("From", "To", "Subject", "Message-ID", "In-Reply-To", "Auto-Submitted"):
        print(f"{name}: {ack[name]}")
    body = ack.get_body(preferencelist=("plain",))
    print("\n" + (body.get_content() if body is not None else ""))


def main() -> int:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    with (
        Dovecot(WORK / "dovecot", user=SUPPORT, password="demo-password") as dovecot,
        SmtpReceiver() as smtp,
    ):
        print(
            f"== Dovecot on {dovecot.host}:{dovecot.port}, SMTP receiver on {smtp.host}:{smtp.port}"
        )
        samples = sorted((ROOT / "scripts" / "demo-mail").glob("*.eml"))
        dovecot.append_many([p.read_bytes() for p in samples])
        print(f"== delivered {len(samples)} sample emails: {', '.join(p.stem for p in samples)}")
        config = write_config(dovecot, smtp)
        run_daemon(config, smtp)
        show_results(config, smtp)
    print(f"\nState kept in {WORK}/state (config {WORK}/mailbot.toml).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
