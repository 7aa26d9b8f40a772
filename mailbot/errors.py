"""Error families. Adapters translate library outcomes into these; runners catch them per item."""


class MailbotError(Exception):
    """Base of every error mailbot raises on purpose."""


class ConfigError(MailbotError):
    """The configuration is missing, malformed or inconsistent (CLI exit code 2)."""


class TransientError(MailbotError):
    """Worth retrying later: network down, 4xx, lock timeout."""


class DatabaseUnavailable(TransientError):
    """The database is down, locked past the busy timeout, or its disk is full."""


class PermanentError(MailbotError):
    """Will not succeed on retry: 5xx, malformed input. Quarantine or mark dead."""


class ModelError(MailbotError):
    """A classifier model is missing, corrupt or incompatible."""


class TemplateError(MailbotError):
    """A reply template is missing or fails to render."""


class InputError(MailbotError):
    """A file the operator gave us is unusable (CLI exit code 2), e.g. bad training data."""
