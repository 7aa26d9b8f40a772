"""templates/ -> sandboxed jinja2 rendering with fallbacks; edits on disk are picked up."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from mailbot.core.render import RenderedParts
from mailbot.errors import TemplateError


def make_environment(root: Path, loader: jinja2.BaseLoader | None = None) -> SandboxedEnvironment:
    """Sandboxed, strict about undefined names, HTML autoescaped, reloads changed files."""
    return SandboxedEnvironment(
        loader=loader or jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
        auto_reload=True,
        keep_trailing_newline=True,
        lstrip_blocks=True,
    )


class _CheckedOncePerRound(jinja2.FileSystemLoader):
    """Jinja's loader, whose check that a template file is unchanged runs once per round.

    With auto_reload, Jinja stats a template's file each time it is used: eleven times for
    one acknowledgement (subject, text and HTML, the layout and the included parts), each a
    system call that lets go of the GIL the event loop is waiting for. Here a file found
    unchanged counts as unchanged until `next_round`."""

    def __init__(self, root: Path) -> None:
        super().__init__(str(root))
        self.round = 0

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        fresh_in = [self.round]  # the round in which the file was last found unchanged

        def checked_once() -> bool:
            if fresh_in[0] == self.round:
                return True
            if not uptodate():
                return False
            fresh_in[0] = self.round
            return True

        return source, filename, checked_once

    def next_round(self) -> None:
        self.round += 1


class FileTemplates:
    """Renders `templates/<lang>/<name>.{txt,html}.j2` and `<lang>/_subject.txt.j2`.

    Fallbacks: name -> "default" in the same language, then the default language.
    The files are looked at again after each `refresh()`: the processor calls it before each
    batch, so an edit is used from the next batch on (see _CheckedOncePerRound).
    """

    def __init__(self, root: Path, *, default_language: str) -> None:
        if not root.is_dir():
            raise TemplateError(f"templates folder {root} does not exist")
        self._root = root
        self._loader = _CheckedOncePerRound(root)
        self._env = make_environment(root, self._loader)
        self._default_language = default_language
        self._resolved: dict[tuple[str, str], tuple[str, str]] = {}  # this round's

    def refresh(self) -> None:
        """From now on, look again whether files were added, changed or removed."""
        self._loader.next_round()
        self._resolved = {}

    def render(self, language: str, name: str, context: Mapping[str, Any]) -> RenderedParts:
        lang, chosen = self._resolve(language, name)
        return RenderedParts(
            subject=self._render(f"{lang}/_subject.txt.j2", {**context, "template": chosen}),
            text=self._render(f"{lang}/{chosen}.txt.j2", context),
            html=self._render(f"{lang}/{chosen}.html.j2", context),
        )

    def _resolve(self, language: str, name: str) -> tuple[str, str]:
        found = self._resolved.get((language, name))
        if found is None:
            found = self._resolved[(language, name)] = self._find(language, name)
        return found

    def _find(self, language: str, name: str) -> tuple[str, str]:
        for lang in dict.fromkeys((language, self._default_language)):
            for candidate in dict.fromkeys((name, "default")):
                if (self._root / lang / f"{candidate}.txt.j2").is_file():
                    return lang, candidate
        raise TemplateError(f"no template {name!r} for {language!r} and no default to fall back on")

    def _render(self, path: str, context: Mapping[str, Any]) -> str:
        try:
            return self._env.get_template(path).render(context).strip()
        except jinja2.TemplateError as exc:
            raise TemplateError(f"{path}: {exc.__class__.__name__}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding of `check_templates`: where, what, and whether it blocks (error)."""

    path: str  # relative to the templates folder, with ":line" when known
    message: str
    error: bool = True

    def __str__(self) -> str:
        return f"{'error' if self.error else 'warning'}: {self.path}: {self.message}"


# Templates the daemon uses besides "default" and one per category, and who gets them.
SPECIAL = {
    "reopened": "customers whose reply re-opens a resolved case",
    "status": "customers asking where their case stands",
    "phishing": "customers who forward a mail imitating us from a lookalike domain",
}


def check_templates(
    root: Path,
    *,
    categories: Sequence[str],
    languages: Sequence[str],
    samples: Callable[[str, str], Sequence[Mapping[str, Any]]],
) -> list[Problem]:
    """Everything an admin's edit can break, found before a customer sees it: syntax errors,
    undefined variables, missing languages or categories, empty output; file:line each."""
    if not root.is_dir():
        return [Problem(str(root), "templates folder does not exist")]
    env = make_environment(root)
    problems = _syntax_problems(root, env)
    broken = {p.path.split(":")[0] for p in problems}
    for language in languages:
        problems += _missing(root, language, categories)
        for name in ("default", *SPECIAL, *categories):
            for suffix in (".txt.j2", ".html.j2"):
                path = f"{language}/{name}{suffix}"
                if (root / path).is_file() and path not in broken:
                    problems += _render_problems(env, path, samples(language, name))
        subject = f"{language}/_subject.txt.j2"
        if (root / subject).is_file() and subject not in broken:
            templated = [
                {**s, "template": n}
                for n in ("default", *SPECIAL, *categories)
                for s in samples(language, n)
            ]
            problems += _render_problems(env, subject, templated)
    problems += _strays(root, categories, languages)
    return problems


def _syntax_problems(root: Path, env: SandboxedEnvironment) -> list[Problem]:
    problems = []
    for path in sorted(root.rglob("*.j2")):
        name = path.relative_to(root).as_posix()
        try:
            env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            where = exc.name or name
            problems.append(Problem(f"{where}:{exc.lineno}", f"syntax error: {exc.message}"))
        except UnicodeDecodeError:
            problems.append(Problem(name, "not UTF-8 text"))
    return problems


def _missing(root: Path, language: str, categories: Sequence[str]) -> list[Problem]:
    if not (root / language).is_dir():
        return [Problem(f"{language}/", f"no templates for language {language!r}")]
    problems = [
        Problem(f"{language}/{name}", "missing")
        for name in ("_subject.txt.j2", "default.txt.j2", "default.html.j2")
        if not (root / language / name).is_file()
    ]
    for name in (*SPECIAL, *categories):
        for suffix in (".txt.j2", ".html.j2"):
            if not (root / language / f"{name}{suffix}").is_file():
                what = SPECIAL.get(name, "tickets of this category")
                problems.append(
                    Problem(
                        f"{language}/{name}{suffix}", f"missing: {what} get the default template"
                    )
                )
    return problems


def _render_problems(
    env: SandboxedEnvironment, path: str, samples: Sequence[Mapping[str, Any]]
) -> list[Problem]:
    for sample in samples:
        try:
            out = env.get_template(path).render(sample)
        except jinja2.TemplateError as exc:
            where = _template_line(exc) or path
            return [Problem(where, f"{exc.__class__.__name__}: {exc}")]
        except Exception as exc:  # a sandbox violation or a filter crashing on a value
            return [Problem(_template_line(exc) or path, f"{exc.__class__.__name__}: {exc}")]
        if not out.strip():
            return [Problem(path, "renders to nothing")]
        ref = str(sample["ticket"]["ref"])
        if not path.endswith("_subject.txt.j2") and ref not in out:
            return [Problem(path, "never shows ticket.ref: replies will not join the case", False)]
    return []


def _template_line(exc: BaseException) -> str | None:
    """'en/trading.txt.j2:12' from the traceback (jinja maps frames to template lines)."""
    where = None
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            where = f"{Path(filename).parent.name}/{Path(filename).name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


def _strays(root: Path, categories: Sequence[str], languages: Sequence[str]) -> list[Problem]:
    """Files the daemon will never use: usually a misspelt category or language."""
    known = {"default", *SPECIAL, *categories}
    problems = []
    for path in sorted(root.glob("*/*.j2")):
        language, stem = path.parent.name, path.name.split(".")[0]
        if language not in languages:
            problems.append(Problem(f"{language}/{path.name}", "not a configured language", False))
        elif not stem.startswith("_") and stem not in known:
            problems.append(
                Problem(f"{language}/{path.name}", f"{stem!r} is not a category: never used", False)
            )
    return problems
