"""HTML -> readable text with inscriptis (Apache-2.0, on lxml): tables laid out, entities
decoded, <style>/<script>/<head> dropped, no network."""

from __future__ import annotations

import html
import re

from inscriptis import get_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig
from lxml.etree import LxmlError

_CONFIG = ParserConfig(css=CSS_PROFILES["strict"], display_images=False, display_links=False)
# lxml refuses NUL and most C0 controls in a str; they carry no text anyway.
_XML_INCOMPATIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_INVISIBLE = re.compile(r"<(style|script|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def html_to_text(markup: str) -> str:
    """Visible text of an HTML document or fragment, one block per line."""
    cleaned = _XML_INCOMPATIBLE.sub("", markup)
    try:
        text = get_text(cleaned, _CONFIG)
    except (LxmlError, ValueError, RecursionError):
        # Never seen on real mail; keep the words rather than lose the message.
        text = html.unescape(_TAG.sub(" ", _INVISIBLE.sub(" ", cleaned)))
    return "\n".join(line.rstrip() for line in text.splitlines()).strip()
