"""The shipped systemd units, checked by systemd itself (`systemd-analyze verify`).

verify resolves every Exec*= path, so it runs against a scratch root (`--root`) holding the
units under /etc/systemd/system, the distribution's units they depend on (sysinit.target...),
and an executable at each Exec*= path the units name, e.g. /opt/mailbot/.venv/bin/mailbot:
exactly the layout README.md "Operations" tells an operator to install. Any output fails.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "systemd"
SYSTEM_UNITS = Path("/usr/lib/systemd/system")
NAMES = ["mailbot.service", "mailbot-retrain.service", "mailbot-retrain.timer"]
INSTALLED_MAILBOT = "/opt/mailbot/.venv/bin/mailbot"


def _analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.fail("systemd-analyze is missing: run scripts/install-system-deps.sh")
    return found


def exec_paths(unit: Path) -> set[str]:
    """The programs of every Exec*= line, without systemd's prefixes (-, @, :, +, !)."""
    found = set()
    for line in unit.read_text().splitlines():
        match = re.match(r"Exec\w+=\s*[-@:+!]*(\S+)", line)
        if match:
            found.add(match.group(1))
    return found


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "etc/systemd/system").mkdir(parents=True)
    shutil.copytree(SYSTEM_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    for name in NAMES:
        shutil.copy(UNITS / name, root / "etc/systemd/system" / name)
        for program in exec_paths(UNITS / name):
            target = root / program.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("#!/bin/sh\n")
            target.chmod(0o755)
    return root


def verify(root: Path, *names: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_analyze(), "verify", f"--root={root}", "--man=no", *names],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_units_run_the_installed_mailbot_and_other_programs_that_exist() -> None:
    assert exec_paths(UNITS / "mailbot.service") == {INSTALLED_MAILBOT, "/bin/kill"}
    assert exec_paths(UNITS / "mailbot-retrain.service") == {INSTALLED_MAILBOT}
    assert Path("/bin/kill").is_file()  # the one program not ours is the system's own


@pytest.mark.parametrize("name", NAMES)
def test_systemd_analyze_verify_finds_nothing(root: Path, name: str) -> None:
    done = verify(root, name)
    assert done.returncode == 0 and done.stdout + done.stderr == "", done.stdout + done.stderr


def test_verify_does_complain_about_a_broken_unit(root: Path) -> None:
    """The check above can fail: a typo and a missing program are both reported."""
    unit = root / "etc/systemd/system/mailbot.service"
    unit.write_text(unit.read_text().replace("NotifyAccess=main", "NotifyAcess=main"))
    (root / INSTALLED_MAILBOT.lstrip("/")).unlink()
    done = verify(root, "mailbot.service")
    output = done.stdout + done.stderr
    assert "Unknown key 'NotifyAcess'" in output
    assert f"Command {INSTALLED_MAILBOT} is not executable" in output


def test_daemon_unit_is_notify_with_watchdog_and_hardening() -> None:
    text = (UNITS / "mailbot.service").read_text()
    for line in [
        "Type=notify",
        "NotifyAccess=main",
        "WatchdogSec=30s",
        "Restart=on-failure",
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "StateDirectory=mailbot",
        "ConfigurationDirectory=mailbot",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=\n",
    ]:
        assert line in text, line
    assert "ReadWritePaths" not in text  # StateDirectory= is the only writable place


@pytest.mark.parametrize("name", ["mailbot.service", "mailbot-retrain.service"])
def test_exposure_stays_low(root: Path, name: str) -> None:
    """systemd's own security score (0 best, 10 worst; --threshold counts tenths): 1.4 now."""
    done = subprocess.run(
        [_analyze(), "security", "--offline=yes", f"--root={root}", "--threshold=20", name],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
