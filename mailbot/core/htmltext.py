"""HTML -> readable text with inscriptis (Apache-2.0, on lxml): tables laid out, entities
decoded, <style>/<script>/<head> dropped, no network."""

from __future__ import annotations

import functools
import html
import re
from typing import Any

# lxml refuses NUL and most C0 controls in a str; they carry no text anyway.
_XML_INCOMPATIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_INVISIBLE = re.compile(r"<(style|script|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


@functools.cache
def _inscriptis() -> tuple[Any, Any, type[Exception]]:
    """inscriptis and lxml (~4 MB), imported by the process that parses mail first needs
    them: with the prepare worker on, the daemon's own process never does."""
    from inscriptis import get_text
    from inscriptis.css_profiles import CSS_PROFILES
    from inscriptis.model.config import ParserConfig
    from lxml.etree import LxmlError

    config = ParserConfig(css=CSS_PROFILES["strict"], display_images=False, display_links=False)
    return get_text, config, LxmlError


def html_to_text(markup: str) -> str:
    """Visible text of an HTML document or fragment, one block per line."""
    get_text, config, lxml_error = _inscriptis()
    cleaned = _XML_INCOMPATIBLE.sub("", markup)
    try:
        text = get_text(cleaned, config)
    except (lxml_error, ValueError, RecursionError):
        # Never seen on real mail; keep the words rather than lose the message.
        text = html.unescape(_TAG.sub(" ", _INVISIBLE.sub(" ", cleaned)))
    return "\n".join(line.rstrip() for line in text.splitlines()).strip()
