"""templates/ -> sandboxed jinja2 rendering with fallbacks; edits on disk are picked up."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from mailbot.core.render import RenderedParts
from mailbot.errors import TemplateError


def make_environment(root: Path) -> SandboxedEnvironment:
    """Sandboxed, strict about undefined names, HTML autoescaped, reloads changed files."""
    return SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
        auto_reload=True,
        keep_trailing_newline=True,
        lstrip_blocks=True,
    )


class FileTemplates:
    """Renders `templates/<lang>/<name>.{txt,html}.j2` and `<lang>/_subject.txt.j2`.

    Fallbacks: name -> "default" in the same language, then the default language.
    """

    def __init__(self, root: Path, *, default_language: str) -> None:
        if not root.is_dir():
            raise TemplateError(f"templates folder {root} does not exist")
        self._root = root
        self._env = make_environment(root)
        self._default_language = default_language

    def render(self, language: str, name: str, context: Mapping[str, Any]) -> RenderedParts:
        lang, chosen = self._resolve(language, name)
        return RenderedParts(
            subject=self._render(f"{lang}/_subject.txt.j2", {**context, "template": chosen}),
            text=self._render(f"{lang}/{chosen}.txt.j2", context),
            html=self._render(f"{lang}/{chosen}.html.j2", context),
        )

    def _resolve(self, language: str, name: str) -> tuple[str, str]:
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
