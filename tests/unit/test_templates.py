"""The shipped templates, and `templates check` finding what an admin's edit breaks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime
from email import message_from_string, policy
from pathlib import Path

import pytest

from mailbot.adapters.knowledge import load_articles, read_article
from mailbot.adapters.templates import FileTemplates, Problem, check_templates, make_environment
from mailbot.core.render import sample_contexts
from mailbot.errors import TemplateError
from mailbot.resources import shipped
from mailbot.settings import DEFAULT_CATEGORIES, DEFAULT_LANGUAGES

NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)


def check(root: Path) -> list[Problem]:
    return check_templates(
        root,
        categories=DEFAULT_CATEGORIES,
        languages=DEFAULT_LANGUAGES,
        samples=lambda lang, name: sample_contexts(lang, name, received=NOW),
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    copy = tmp_path / "templates"
    shutil.copytree(shipped("templates"), copy)
    return copy


def test_shipped_templates_are_clean_and_complete() -> None:
    assert check(shipped("templates")) == []
    for language in DEFAULT_LANGUAGES:
        for category in DEFAULT_CATEGORIES:
            assert (shipped("templates") / language / f"{category}.txt.j2").is_file()


@pytest.mark.parametrize("language", DEFAULT_LANGUAGES)
@pytest.mark.parametrize("category", DEFAULT_CATEGORIES)
def test_every_ack_has_ref_promise_and_security_notice_and_asks_for_no_secret(
    language: str, category: str
) -> None:
    renderer = FileTemplates(shipped("templates"), default_language="en")
    env = make_environment(shipped("templates"))
    for context in sample_contexts(language, category, received=NOW):
        parts = renderer.render(language, category, context)
        promise = context["promise"]
        phrase = promise["duration"] if promise["kind"] == "within" else promise["due"]
        notice = env.get_template(f"{language}/_security.txt.j2").render(context).strip()
        assert notice and notice in parts.text
        for body in (parts.text, parts.html):
            assert "MB-000123" in body
            assert phrase in body
            assert "49" not in body  # customer text is data, never evaluated
            if context["ticket"]["subject"]:
                assert "{{ 7*7 }}" in body
        if context["ticket"]["subject"]:
            assert "<b>" not in parts.html and "&lt;b&gt;" in parts.html
        if context["faq"]:
            assert context["faq"][0]["url"] in parts.text


def test_undefined_variable_is_reported_with_file_and_line(root: Path) -> None:
    path = root / "en" / "trading.txt.j2"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(2, "Your order {{ ticket.order_id }} is being checked.")
    path.write_text("\n".join(lines), encoding="utf-8")
    [problem] = check(root)
    assert problem.error and problem.path == "en/trading.txt.j2:3"
    assert "order_id" in problem.message


def test_syntax_error_missing_category_empty_output_and_a_typo_in_a_name(root: Path) -> None:
    (root / "ko" / "technical.txt.j2").write_text("안녕하세요\n{% if ticket.ref %}\n", "utf-8")
    (root / "ja" / "fees_general.html.j2").unlink()
    (root / "zh" / "trading.txt.j2").write_text("{# nothing #}\n", encoding="utf-8")
    shutil.copy(root / "en" / "trading.txt.j2", root / "en" / "tradng.txt.j2")
    found = {(p.path.split(":")[0], p.error): p for p in check(root)}
    assert "syntax error" in found["ko/technical.txt.j2", True].message
    assert found["ko/technical.txt.j2", True].path.startswith("ko/technical.txt.j2:")
    assert "missing" in found["ja/fees_general.html.j2", True].message
    assert "nothing" in found["zh/trading.txt.j2", True].message
    assert "never used" in found["en/tradng.txt.j2", False].message


def test_missing_language_is_an_error(root: Path) -> None:
    shutil.rmtree(root / "ja")
    assert any(p.path == "ja/" and p.error for p in check(root))


def test_sandbox_refuses_attribute_escapes(root: Path) -> None:
    (root / "en" / "technical.txt.j2").write_text(
        "{{ ticket.ref }} {{ ''.__class__.__mro__[1].__subclasses__() }}", encoding="utf-8"
    )
    [problem] = check(root)
    assert problem.error and problem.path.startswith("en/technical.txt.j2")
    assert "unsafe" in problem.message.lower() or "SecurityError" in problem.message


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailbot", "templates", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_cli_check_exit_codes(root: Path, tmp_path: Path) -> None:
    ok = run_cli("check", "--dir", str(root), cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "0 error(s)" in ok.stdout
    (root / "en" / "default.txt.j2").write_text("{{ tikcet.ref }}", encoding="utf-8")
    bad = run_cli("check", "--dir", str(root), cwd=tmp_path)
    assert bad.returncode == 1
    assert "error: en/default.txt.j2:1: UndefinedError" in bad.stdout


def test_cli_preview_prints_both_parts_for_an_email(tmp_path: Path) -> None:
    eml = tmp_path / "in.eml"
    eml.write_bytes(
        "From: 김민수 <minsu@customer.test>\r\nSubject: USDT 입금 미반영\r\n"
        "Date: Mon, 23 Nov 2026 10:00:00 +0900\r\nMessage-ID: <m1@customer.test>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "어제 TRC20으로 보낸 USDT가 아직 입금되지 않았어요.\r\n".encode()
    )
    done = run_cli(
        "preview", "--category", "deposit_withdrawal", "--lang", "ko", "--email", str(eml),
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    head, _, rest = done.stdout.partition("\n\n")
    msg = message_from_string(head + "\n\n", policy=policy.default)
    assert msg["To"] == "minsu@customer.test"
    assert msg["In-Reply-To"] == "<m1@customer.test>"
    assert "USDT 입금 미반영" in str(msg["Subject"])
    assert "----- text/plain -----" in rest and "----- text/html -----" in rest
    assert "(KST)" in rest  # a business-hours promise shown in the customer's zone
    bad = run_cli("preview", "--category", "nope", "--lang", "ko", cwd=tmp_path)
    assert bad.returncode == 2 and "nope" in bad.stderr


def test_shipped_articles_load_and_a_bad_one_is_named(tmp_path: Path) -> None:
    articles = load_articles(shipped("templates") / "kb")
    assert {a.language for a in articles} == set(DEFAULT_LANGUAGES)
    assert all(a.url.startswith("https://") and a.title and a.body for a in articles)
    bad = tmp_path / "x.md"
    bad.write_text("---\ntitle: [unclosed\n---\nbody", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"x\.md"):
        read_article(bad)
    bad.write_text("---\ntitle: t\nlanguage: en\n---\nbody", encoding="utf-8")
    with pytest.raises(TemplateError, match="missing url"):
        read_article(bad)
