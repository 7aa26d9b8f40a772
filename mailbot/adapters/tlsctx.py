"""TLS contexts: certificate verification is always on; a custom CA file may be added."""

from __future__ import annotations

import ssl
from pathlib import Path


def client_context(ca_file: Path | None) -> ssl.SSLContext:
    """A verifying client context (hostname checked), trusting `ca_file` if given."""
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
