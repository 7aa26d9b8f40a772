"""Knowledge-base articles on disk (markdown with a front-matter block) -> core.faq.Article."""

from __future__ import annotations

from pathlib import Path

import yaml

from mailbot.core.faq import Article, FaqIndex, FaqPolicy
from mailbot.errors import TemplateError

_REQUIRED = ("title", "url", "language")


def faq_index(root: Path, policy: FaqPolicy) -> FaqIndex | None:
    """The matcher over the articles under `root`; None when there are none."""
    articles = load_articles(root)
    return FaqIndex(articles, policy) if articles else None


def load_articles(root: Path) -> list[Article]:
    """Every `*.md` under `root`; a malformed article is an error naming the file."""
    if not root.is_dir():
        return []
    return [read_article(path) for path in sorted(root.rglob("*.md")) if path.name != "README.md"]


def read_article(path: Path) -> Article:
    text = path.read_text(encoding="utf-8")
    head, body = _split_front_matter(text, path)
    try:
        meta = yaml.safe_load(head) or {}
    except yaml.YAMLError as exc:
        raise TemplateError(f"{path}: front matter is not valid YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise TemplateError(f"{path}: front matter must be key: value lines")
    missing = [key for key in _REQUIRED if not str(meta.get(key, "")).strip()]
    if missing:
        raise TemplateError(f"{path}: front matter is missing {', '.join(missing)}")
    if not str(meta["url"]).strip().startswith("https://"):
        raise TemplateError(f"{path}: url must start with https:// (it becomes a link)")
    tags = meta.get("tags") or []
    if not isinstance(tags, list):
        raise TemplateError(f"{path}: tags must be a list like [deposit, txid]")
    return Article(
        slug=path.stem,
        title=str(meta["title"]).strip(),
        url=str(meta["url"]).strip(),
        language=str(meta["language"]).strip(),
        tags=tuple(str(t) for t in tags),
        body=body.strip(),
    )


def _split_front_matter(text: str, path: Path) -> tuple[str, str]:
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        raise TemplateError(f"{path}:1: an article starts with a '---' front-matter block")
    for lineno, line in enumerate(lines[1:], start=2):
        if line.strip() == "---":
            return "\n".join(lines[1 : lineno - 1]), "\n".join(lines[lineno:])
    raise TemplateError(f"{path}: the front-matter block is not closed with '---'")
