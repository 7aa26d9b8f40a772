"""Config: one clear line per problem, secrets from the environment, never in reprs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mailbot.errors import ConfigError
from mailbot.settings import load_settings

MINIMAL = """
[imap]
host = "127.0.0.1"
username = "support@example.test"
tls = "none"

[smtp]
host = "127.0.0.1"
tls = "none"
from_address = "support@example.test"

[database]
url = "sqlite:///{db}"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mailbot.toml"
    path.write_text(text.replace("{db}", str(tmp_path / "x.db")), encoding="utf-8")
    return path


def test_three_tables_are_enough_and_defaults_apply(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, MINIMAL), environ={})
    assert s.imap.folder == "INBOX"
    assert s.imap.effective_port() == 143
    assert s.sla.first_response_hours["critical"] == 1
    assert s.taxonomy.languages == ["en", "ko", "zh", "ja"]
    assert s.state_dir == (tmp_path / "state").resolve()


def test_secrets_come_from_the_environment_and_never_show(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, MINIMAL), environ={"MAILBOT_IMAP_PASSWORD": "hunter2"})
    assert s.imap.password is not None
    assert s.imap.password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(s) and "hunter2" not in str(s.model_dump())


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('folder = "INBOX"', 'foldr = "INBOX"'), "imap.foldr: unknown key"),
        (('host = "127.0.0.1"\nusername', "username"), "imap.host: required key is missing"),
        (('tls = "none"\n\n[smtp]', 'tls = "plain"\n\n[smtp]'), "imap.tls: Input should be"),
        (("[database]", 'port = "abc"\n[database]'), "smtp.port:"),
    ],
)
def test_bad_keys_are_named(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    text = MINIMAL.replace(
        'username = "support@example.test"\ntls',
        'username = "support@example.test"\nfolder = "INBOX"\ntls',
        1,
    )
    text = text.replace(*change, 1)
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), environ={})
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_plaintext_to_a_remote_host_is_refused(tmp_path: Path) -> None:
    text = MINIMAL.replace('host = "127.0.0.1"', 'host = "imap.example.com"', 1)
    with pytest.raises(ConfigError, match="clear text"):
        load_settings(write(tmp_path, text), environ={})


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[imap\nhost="), environ={})
    with pytest.raises(ConfigError, match="no such config file"):
        load_settings(tmp_path / "absent.toml", environ={})


def test_cli_config_error_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace('tls = "none"', 'tls = "none"\ntypo = 1', 1))
    done = subprocess.run(
        [sys.executable, "-m", "mailbot", "tickets", "list", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "imap.typo: unknown key" in done.stderr
    assert "Traceback" not in done.stderr


def test_example_config_is_valid(tmp_path: Path) -> None:
    from mailbot.resources import shipped

    s = load_settings(shipped("config") / "mailbot.example.toml", environ={})
    assert s.imap.tls == "ssl" and s.smtp.tls == "starttls"


def test_mailboxes_inherit_from_imap_and_override(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + """
[[mailboxes]]
name = "support"

[[mailboxes]]
name = "vip"
folder = "VIP"
after_store = "move"
first_response_hours = { critical = 0.5, high = 1, normal = 4, low = 24 }
"""
    )
    s = load_settings(write(tmp_path, text), environ={"MAILBOT_IMAP_PASSWORD": "pw"})
    support, vip = s.effective_mailboxes()
    assert (support.folder, vip.folder) == ("INBOX", "VIP")
    assert vip.host == support.host == "127.0.0.1"
    assert vip.password is not None and vip.password.get_secret_value() == "pw"
    assert vip.after_store == "move" and support.after_store == "seen"
    assert vip.first_response_hours == {"critical": 0.5, "high": 1, "normal": 4, "low": 24}


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ('name = "a"\nfoldr = "X"', "mailboxes.0.foldr: unknown key"),
        ('name = "a"\nfirst_response_hours = { critical = 1 }', "has no window for urgency 'high'"),
        ('name = "a"\n\n[[mailboxes]]\nname = "b"', "listed twice"),
        ('name = "a"\ntls = "none"\nhost = "imap.example.com"', "mailboxes.0 (a): "),
    ],
)
def test_bad_mailboxes_are_named(tmp_path: Path, entry: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, MINIMAL + "\n[[mailboxes]]\n" + entry + "\n"), environ={})
    assert expected in str(info.value)
