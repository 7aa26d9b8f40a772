"""Text -> the secrets a customer pasted into it, and the text with each one replaced.

Customers paste things into support mail that let anyone who reads it empty their account:
recovery phrases, private keys, passwords, one-time codes, API secrets, card numbers. This
stage finds them (core.bip39, core.keys, core.credentials do the finding) and replaces each
with a typed marker such as "[redacted: recovery phrase]", so that what is stored, shown to
agents, quoted in escalation digests or logged never contains them. Labels stay ("my password
is [redacted: password]") so an agent still understands the mail.

Pure: no I/O, no clock. Spans are offsets into the text given, in characters.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mailbot.core import bip39, credentials, keys


class SecretKind(enum.StrEnum):
    """What was found. The order is precedence when two findings overlap."""

    RECOVERY_PHRASE = "recovery_phrase"
    PRIVATE_KEY = "private_key"
    API_SECRET = "api_secret"
    PASSWORD = "password"
    CARD_NUMBER = "card_number"
    ONE_TIME_CODE = "one_time_code"

    @property
    def marker(self) -> str:
        """What replaces the secret in the text, e.g. "[redacted: recovery phrase]"."""
        return f"[redacted: {_MARKER_WORDS[self]}]"


_MARKER_WORDS = {
    SecretKind.RECOVERY_PHRASE: "recovery phrase",
    SecretKind.PRIVATE_KEY: "private key",
    SecretKind.API_SECRET: "API secret",
    SecretKind.PASSWORD: "password",
    SecretKind.CARD_NUMBER: "card number",
    SecretKind.ONE_TIME_CODE: "one-time code",
}
_PRECEDENCE = {kind: rank for rank, kind in enumerate(SecretKind)}


class Severity(enum.StrEnum):
    """How bad the exposure is. The names are the default urgencies, so a caller may raise a
    ticket's urgency to its worst finding's severity."""

    CRITICAL = "critical"  # anyone who reads it can move the funds, now and for ever
    HIGH = "high"  # it opens the account or its API until the customer changes it
    NORMAL = "normal"  # harm outside the account, or only for minutes


SEVERITY: dict[SecretKind, Severity] = {
    SecretKind.RECOVERY_PHRASE: Severity.CRITICAL,
    SecretKind.PRIVATE_KEY: Severity.CRITICAL,
    SecretKind.PASSWORD: Severity.HIGH,
    SecretKind.API_SECRET: Severity.HIGH,
    # A card number cannot move crypto out of the account, but it is card fraud waiting to
    # happen and must not be stored (PCI DSS): redacted, not an emergency.
    SecretKind.CARD_NUMBER: Severity.NORMAL,
    # A one-time code expires within minutes, usually before anyone reads the mail; that a
    # customer sends one to "support" can mean someone is phishing them, which the mail's
    # other words (and core.phishing) tell better.
    SecretKind.ONE_TIME_CODE: Severity.NORMAL,
}
_SEVERITY_ORDER = (Severity.CRITICAL, Severity.HIGH, Severity.NORMAL)


@dataclass(frozen=True, slots=True)
class Finding:
    """One secret: its kind, where it is (text[start:end]) and why it counts. `why` never
    contains the secret itself."""

    kind: SecretKind
    start: int
    end: int
    why: str

    @property
    def severity(self) -> Severity:
        return SEVERITY[self.kind]


@dataclass(frozen=True, slots=True)
class Redaction:
    """A text with its secrets replaced, and what was replaced (spans into the original)."""

    text: str
    findings: tuple[Finding, ...]

    @property
    def kinds(self) -> tuple[SecretKind, ...]:
        return distinct_kinds(self.findings)


@dataclass(frozen=True, slots=True)
class RedactedMessage:
    """A subject and body with their secrets replaced."""

    subject: str
    body: str
    subject_findings: tuple[Finding, ...]
    body_findings: tuple[Finding, ...]

    @property
    def kinds(self) -> tuple[SecretKind, ...]:
        """Every kind found in either part, once each, most dangerous first."""
        return distinct_kinds((*self.subject_findings, *self.body_findings))

    @property
    def severity(self) -> Severity | None:
        """The worst severity found, or None when nothing was."""
        return worst_severity(self.kinds)


def severity(kind: SecretKind) -> Severity:
    """The documented severity of a kind of secret (see SEVERITY)."""
    return SEVERITY[kind]


def worst_severity(kinds: Iterable[SecretKind]) -> Severity | None:
    """The most severe of these kinds' severities; None for none."""
    found = {SEVERITY[k] for k in kinds}
    return next((s for s in _SEVERITY_ORDER if s in found), None)


def distinct_kinds(findings: Iterable[Finding]) -> tuple[SecretKind, ...]:
    """The kinds among `findings`, once each, in precedence order."""
    present = {f.kind for f in findings}
    return tuple(k for k in SecretKind if k in present)


def _phrase_why(match: bip39.PhraseMatch) -> str:
    check = "checksum valid" if match.checksum_ok else "no valid checksum"
    return f"{match.words} words of the BIP39 {match.wordlist} list, {check}"


def _raw_findings(text: str) -> Iterable[Finding]:
    for phrase in bip39.find_phrases(text):
        yield Finding(SecretKind.RECOVERY_PHRASE, phrase.start, phrase.end, _phrase_why(phrase))
    for key in keys.find_keys(text):
        yield Finding(SecretKind.PRIVATE_KEY, key.start, key.end, key.why)
    for finder in (
        credentials.find_api_secrets,
        credentials.find_passwords,
        credentials.find_cards,
        credentials.find_codes,
    ):
        for value in finder(text):
            yield Finding(SecretKind(value.kind), value.start, value.end, value.why)


def _merge(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Overlapping findings become one covering both spans, of the more dangerous kind (a
    password label inside a pasted phrase, a phrase found in both Chinese lists)."""
    merged: list[Finding] = []
    for f in sorted(findings, key=lambda f: (f.start, _PRECEDENCE[f.kind])):
        if merged and f.start < merged[-1].end:
            last = merged[-1]
            keep = last if _PRECEDENCE[last.kind] <= _PRECEDENCE[f.kind] else f
            merged[-1] = Finding(keep.kind, last.start, max(last.end, f.end), keep.why)
        else:
            merged.append(f)
    return tuple(merged)


def scan(text: str) -> tuple[Finding, ...]:
    """Every secret in `text`, in text order, without overlaps."""
    return _merge(_raw_findings(text))


def apply(text: str, findings: Sequence[Finding]) -> str:
    """`text` with each finding's span replaced by its kind's marker (findings from scan)."""
    parts: list[str] = []
    position = 0
    for f in findings:
        parts += [text[position : f.start], f.kind.marker]
        position = f.end
    parts.append(text[position:])
    return "".join(parts)


def redact(text: str) -> Redaction:
    """`text` with every secret replaced by a typed marker, and the findings."""
    findings = scan(text)
    return Redaction(apply(text, findings) if findings else text, findings)


def redact_message(subject: str, body: str) -> RedactedMessage:
    """A mail's subject and body (decoded text), each redacted."""
    s, b = redact(subject), redact(body)
    return RedactedMessage(s.text, b.text, s.findings, b.findings)
