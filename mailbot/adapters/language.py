"""Offline language detection (lingua), restricted to the configured languages."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lingua import IsoCode639_1, LanguageDetectorBuilder

from mailbot.errors import ConfigError


def make_detector(languages: Sequence[str]) -> Callable[[str], str | None]:
    """A function text -> ISO 639-1 code among `languages`, or None when unsure."""
    codes = _codes(languages)
    if len(codes) == 1:
        only = languages[0]
        return lambda _text: only
    detector = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()

    def detect(text: str) -> str | None:
        found = detector.detect_language_of(text[:2000])
        return None if found is None else found.iso_code_639_1.name.lower()

    return detect


def lazy_detector(languages: Sequence[str]) -> Callable[[str], str | None]:
    """make_detector's function, checked now but built on first use: a daemon whose worker
    process does the detecting never needs lingua's language models in its own memory."""
    _codes(languages)
    built: list[Callable[[str], str | None]] = []

    def detect(text: str) -> str | None:
        if not built:
            built.append(make_detector(languages))
        return built[0](text)

    return detect


def _codes(languages: Sequence[str]) -> list[IsoCode639_1]:
    codes = []
    for code in languages:
        try:
            codes.append(IsoCode639_1.from_str(code))
        except ValueError:
            raise ConfigError(
                f"taxonomy.languages: {code!r} is not an ISO 639-1 code lingua knows"
            ) from None
    return codes
