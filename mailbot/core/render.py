"""Decision + templates -> OutgoingMail. Header-safe: customer text never becomes a header line."""

from __future__ import annotations

import functools
import hashlib
import random
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email import policy
from email.base64mime import body_encode
from email.header import Header
from email.message import EmailMessage
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime as babel_datetime
from babel.dates import format_time, format_timedelta, match_skeleton

from mailbot.domain import FaqLink, OutgoingMail, Promise, TicketView

# C0/C1 controls, DEL, and Unicode line/paragraph separators: none may reach a header.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


@dataclass(frozen=True, slots=True)
class RenderedParts:
    subject: str
    text: str
    html: str


class TemplateRenderer(Protocol):
    def render(self, language: str, name: str, context: Mapping[str, Any]) -> RenderedParts:
        """Subject, text and HTML of template `name` in `language` (with fallbacks)."""
        ...

    def refresh(self) -> None:
        """Called before each batch: edits made until now must be used from here on."""
        ...


@dataclass(frozen=True, slots=True)
class Sender:
    address: str
    name: str
    reply_to: str | None


def header_safe(value: str, limit: int = 200) -> str:
    """One line of plain text: control characters and line breaks become spaces."""
    return " ".join(_UNSAFE.sub(" ", value).split())[:limit]


def make_message_id(ref: str, kind: str, seq: int, domain: str) -> str:
    """Deterministic from the outbox key, so a re-render after a crash gives the same id."""
    digest = hashlib.sha256(f"{ref}|{kind}|{seq}|{domain}".encode()).hexdigest()[:16]
    return f"<{ref}.{kind}.{seq}.{digest}@{domain}>"


@dataclass(frozen=True, slots=True)
class AckExtras:
    """What an acknowledgement says beyond the ticket: the promise and the self-help links."""

    promise: Promise
    zone: tzinfo  # where the customer is, as far as we know (see customer_zone)
    faq: tuple[FaqLink, ...] = ()
    help_url: str = ""
    needs_triage: bool = False
    # For status answers: is the case open, and who must act next ("team" or "customer").
    case_open: bool = True
    waiting_for: str = "team"
    # Secrets the customer's mail exposed (kinds such as "recovery_phrase", "password"; see
    # EXPOSED_KINDS): the acknowledgement tells them what to do now.
    exposed: tuple[str, ...] = ()
    # Lookalike domains in a forwarded phishing mail: (lookalike, the official one it imitates).
    lookalikes: tuple[tuple[str, str], ...] = ()
    official_domains: tuple[str, ...] = ()


# The kinds of secret a template may be told about, most dangerous first.
EXPOSED_KINDS = (
    "recovery_phrase",
    "private_key",
    "api_secret",
    "password",
    "one_time_code",
    "card_number",
)


def defang(domain: str) -> str:
    """'upbit-login[.]com': shown to the customer, never turned into a link by a mail client."""
    return domain.replace(".", "[.]")


def ack_context(view: TicketView, extras: AckExtras, *, team: str) -> dict[str, Any]:
    """What templates may use (documented in templates/README.md)."""
    return {
        "ticket": {
            "ref": view.ref,
            "subject": header_safe(view.subject),
            "category": view.category,
            "urgency": view.urgency,
            "language": view.language,
            "customer_name": header_safe(view.customer_name, 100),
            "customer_address": view.customer_address,
            "needs_triage": extras.needs_triage,
        },
        "promise": promise_context(extras.promise, view.language, extras.zone),
        "faq": [{"title": header_safe(f.title), "url": f.url} for f in extras.faq],
        "help_url": extras.help_url,
        "team": team,
        "case": {"open": extras.case_open, "waiting_for": extras.waiting_for},
        "exposed": [k for k in EXPOSED_KINDS if k in extras.exposed],
        "phishing": {
            "lookalikes": [{"domain": defang(d), "imitates": o} for d, o in extras.lookalikes],
            "official": list(extras.official_domains),
        },
    }


def promise_context(promise: Promise, language: str, zone: tzinfo) -> dict[str, Any]:
    """The promise in the customer's language: a duration ("4시간") for windows counted
    around the clock, a local due time ("11월 24일 (화) 10:00 (KST)") for business hours."""
    due = promise.first_response_due
    hours = promise.first_response_hours
    return {
        "kind": "within" if promise.always_open else "by",
        "duration": _duration(hours, language),
        "due": _local_time(due, language, zone),
        "hours": int(hours) if float(hours).is_integer() else round(hours, 2),
        "due_utc": due.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "timezone": _zone_name(due, zone),
    }


@functools.lru_cache(maxsize=256)
def _duration(hours: float, language: str) -> str:
    """Cached: a few windows in a few languages, formatted for every acknowledgement."""
    window = timedelta(hours=hours)
    whole = float(hours).is_integer()
    # Whole hours up to two days read best as hours ("24 hours"); the rest in days or minutes.
    return format_timedelta(
        window,
        threshold=2 if whole else 10**9,
        granularity="hour" if whole else "minute",
        locale=language,
    )


@dataclass(frozen=True, slots=True)
class _LocalFormats:
    locale: Locale
    day: str  # the locale's pattern for the "MMMMEd" skeleton
    medium: str  # how the locale joins a time ({0}) and a date ({1})


@functools.lru_cache(maxsize=64)
def _local_formats(language: str) -> _LocalFormats:
    """What babel.dates.format_skeleton looks up on every call (the skeleton match alone is
    ~0.3 ms), once per language."""
    locale = Locale.parse(language)
    skeletons = locale.datetime_skeletons
    skeleton = "MMMMEd" if "MMMMEd" in skeletons else match_skeleton("MMMMEd", skeletons)
    return _LocalFormats(locale, str(skeletons[skeleton]), str(locale.datetime_formats["medium"]))


def _local_time(moment: datetime, language: str, zone: tzinfo) -> str:
    formats = _local_formats(language)
    day = babel_datetime(moment, formats.day, tzinfo=zone, locale=formats.locale)
    clock = format_time(moment, "HH:mm", tzinfo=zone, locale=formats.locale)
    return f"{formats.medium.format(clock, day)} ({_zone_name(moment, zone)})"


def _zone_name(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).tzname() or "UTC"


def customer_zone(
    mail_date: datetime | None,
    language: str,
    *,
    language_zones: Mapping[str, str],
    calendar_zone: str,
) -> tzinfo:
    """The zone to show times in. The Date header's offset says where the customer's clock
    is; a named zone with that offset (their language's usual one, or the calendar's) gives a
    familiar name like KST. A +0000 header is treated as unknown: many servers stamp UTC."""
    usual = ZoneInfo(language_zones[language]) if language in language_zones else None
    offset = mail_date.utcoffset() if mail_date is not None else None
    if not offset:
        return usual or ZoneInfo(calendar_zone)
    assert mail_date is not None
    for candidate in (usual, ZoneInfo(calendar_zone)):
        if candidate is not None and mail_date.astimezone(candidate).utcoffset() == offset:
            return candidate
    return timezone(offset)


def render_ack(
    view: TicketView,
    *,
    renderer: TemplateRenderer,
    template: str,
    sender: Sender,
    in_reply_to: str,
    references: tuple[str, ...],
    now: datetime,
    extras: AckExtras,
    seq: int = 1,
    kind: str = "ack",
) -> OutgoingMail:
    """An automatic reply to a customer (acknowledgement, status answer) as wire bytes;
    (kind, seq) is its outbox key, which its Message-ID is made from."""
    parts = renderer.render(view.language, template, ack_context(view, extras, team=sender.name))
    domain = sender.address.rsplit("@", 1)[-1]
    message_id = make_message_id(view.ref, kind, seq, domain)
    headers = [
        ("From", formataddr((header_safe(sender.name, 100), sender.address), "utf-8")),
        ("To", view.customer_address),
        *((("Reply-To", sender.reply_to),) if sender.reply_to else ()),
        ("Subject", header_safe(f"[{view.ref}] {parts.subject}", 300)),
        ("Date", format_datetime(now)),
        ("Message-ID", message_id),
        *(
            (
                # The customer's own ids: one line each, whatever they sent.
                ("In-Reply-To", header_safe(in_reply_to, 998)),
                ("References", header_safe(" ".join((*references[-10:], in_reply_to)), 8000)),
            )
            if in_reply_to
            else ()
        ),
        ("Auto-Submitted", "auto-replied"),
        ("X-Auto-Response-Suppress", "All"),
        ("Precedence", "auto_reply"),
    ]
    return OutgoingMail(
        message_id=message_id,
        sender=sender.address,
        recipients=(view.customer_address,),
        raw=alternative_bytes(headers, parts.text, parts.html),
    )


# CRLF on the wire. compat32 and email.mime build the same message as EmailMessage with
# policy.SMTP in about a third of the time (bench/README.md); unlike policy.SMTP they do not
# refuse a header value with a line break, so alternative_bytes checks every value itself.
_WIRE = policy.compat32.clone(linesep="\r\n")
_CRLF = b"\r\n"
_NLCRE = re.compile(r"\r\n|\r|\n")


def alternative_bytes(headers: Sequence[tuple[str, str]], text: str, html: str) -> bytes:
    """multipart/alternative (plain text, then HTML) as wire bytes. Every header value must be
    one line: a control character or line break in one raises ValueError, never a new header.
    Non-ASCII values become RFC 2047 encoded words.

    The bytes are those of MIMEMultipart + MIMEText written by BytesGenerator with compat32
    (tests/unit/test_render_bytes.py compares them), put together here without building the
    message tree: headers are folded by the same policy, the parts' own headers are the same
    for every message, and the boundary is drawn as BytesGenerator draws it."""
    lines = []
    for name, value in headers:
        if _UNSAFE.search(value):
            raise ValueError(f"unsafe {name} header value: {value!r}")
        lines.append(_fold(name, value) if value.isascii() else _fold_utf8(name, value))
    parts = [_text_part(text, "plain"), _text_part(html, "html")]
    boundary = _boundary(_CRLF.join(parts))
    dash = b"--" + boundary.encode("ascii")
    return b"".join(
        (
            _fold("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
            _fold("MIME-Version", "1.0"),
            *lines,
            _CRLF,
            dash,
            _CRLF,
            parts[0],
            _CRLF,
            dash,
            _CRLF,
            parts[1],
            _CRLF,
            dash,
            b"--",
            _CRLF,
        )
    )


def _boundary(text: bytes) -> str:
    """Generator._make_boundary: the same random draw and the same check that no line of the
    parts is the boundary, with the regular expression (compiled anew for every boundary, the
    costliest step) only when the boundary occurs in the text at all."""
    boundary = f"{'=' * 15}{random.randrange(sys.maxsize):019d}=="
    found, counter = boundary, 0
    while b"--" + found.encode("ascii") in text and re.search(
        b"^--" + re.escape(found.encode("ascii")) + b"(--)?$", text, re.MULTILINE
    ):
        found = f"{boundary}.{counter}"
        counter += 1
    return found


def _fold(name: str, value: str) -> bytes:
    """An ASCII header line as compat32 folds it. One that fits in 78 characters stays as it
    is (Header.encode changes nothing then: tests/unit/test_render_bytes.py)."""
    if len(name) + 2 + len(value) <= 78:
        return f"{name}: {value}\r\n".encode("ascii")
    return _fold_long(name, value)


@functools.lru_cache(maxsize=256)  # the fixed headers (and the parts') are the same each time
def _fold_long(name: str, value: str) -> bytes:
    return _WIRE.fold_binary(name, value)


def _fold_utf8(name: str, value: str) -> bytes:
    return _WIRE.fold_binary(name, Header(value, "utf-8"))  # type: ignore[arg-type]


def _text_part(body: str, subtype: str) -> bytes:
    # ASCII in short lines stays readable (7bit); anything else is UTF-8 in base64, whose
    # lines no relay re-wraps.
    plain = body.isascii() and all(len(line) <= 900 for line in body.splitlines())
    payload = body if plain else body_encode(body.encode("utf-8"))
    return _part_head(subtype, plain) + _wire_lines(payload)


@functools.lru_cache(maxsize=8)
def _part_head(subtype: str, plain: bool) -> bytes:
    """The headers MIMEText gives a part (Content-Type, MIME-Version, CTE) and the blank line."""
    part = MIMEText("", subtype, "us-ascii" if plain else "utf-8")
    return b"".join(_fold(name, str(value)) for name, value in part.raw_items()) + _CRLF


def _wire_lines(payload: str) -> bytes:
    """Generator._write_lines: any line break becomes CRLF; nothing after a final break."""
    return "\r\n".join(_NLCRE.split(payload)).encode("ascii", "surrogateescape")


def sample_contexts(
    language: str, category: str, *, received: datetime, team: str = "Support"
) -> list[dict[str, Any]]:
    """Contexts shaped exactly like production ones, covering the branches templates take:
    both promise kinds, with and without FAQ links, name, subject and help URL."""
    due = received + timedelta(hours=4)
    contexts = []
    for variant in range(4):
        full = variant % 2 == 0
        view = TicketView(
            ref="MB-000123",
            customer_address="jane@example.com",
            customer_name="Jane Doe" if full else "",
            subject="Deposit not credited <b>{{ 7*7 }}</b>" if full else "",
            category=category,
            urgency="critical" if variant < 2 else "normal",
            language=language,
            received_at=received,
            first_response_due=due,
        )
        promised = Promise(due, due + timedelta(days=1), 4.0, variant < 2, "Asia/Seoul", "sample")
        faq = (
            FaqLink("deposit", "Why is my deposit not credited?", "https://help.example/d", 0.5),
            FaqLink("network", "Choosing the right network", "https://help.example/n", 0.4),
        )
        extras = AckExtras(
            promise=promised,
            zone=ZoneInfo("Asia/Seoul"),
            faq=faq if full else (),
            help_url="https://help.example" if variant in (0, 3) else "",
            needs_triage=category == "default",
            case_open=variant != 2,
            waiting_for="customer" if variant == 1 else "team",
            exposed=(EXPOSED_KINDS[::2], EXPOSED_KINDS[1::2], (), ())[variant],
            lookalikes=(("upbit-login.com", "upbit.com"), ("xn--upbt-7ra.com", "upbit.com"))
            if variant < 2
            else (),
            official_domains=("upbit.com", "upbit.co.kr"),
        )
        contexts.append(ack_context(view, extras, team=team))
    return contexts


@dataclass(frozen=True, slots=True)
class DigestFacts:
    """What an escalation digest says about a ticket (customer text already shortened)."""

    ref: str
    customer: str
    subject: str
    category: str
    urgency: str
    language: str
    assignee: str
    opening_lines: str


def render_digest(
    facts: DigestFacts,
    *,
    headline: str,
    level: int,
    target: str,
    sender: Sender,
    recipients: tuple[str, ...],
    seq: int,
    now: datetime,
) -> OutgoingMail:
    """A short internal email: which promise is at risk, for whom, and how to act on it."""
    kind = "warning" if level == 0 else f"escalation L{level}"
    lines = [
        f"{facts.ref}: {headline}",
        "",
        f"customer:  {header_safe(facts.customer)}",
        f"subject:   {header_safe(facts.subject)}",
        f"category:  {facts.category}    urgency: {facts.urgency}    language: {facts.language}",
        f"assigned:  {facts.assignee or '(nobody)'}",
        "",
        "The customer wrote:",
        *(f"> {line}" for line in facts.opening_lines.splitlines()),
        "",
        f"Reply to the customer keeping [{facts.ref}] in the subject (or Cc this mailbox), "
        f"or record it with `mailbot tickets respond {facts.ref}`; "
        f"`mailbot tickets close {facts.ref}` when it is solved.",
    ]
    domain = sender.address.rsplit("@", 1)[-1]
    message_id = make_message_id(facts.ref, f"esc-{target}-{level}", seq, domain)
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = formataddr((header_safe(sender.name, 100), sender.address))
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = header_safe(f"[{facts.ref}] {kind}: {headline}", 300)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content("\n".join(lines))
    return OutgoingMail(message_id, sender.address, recipients, msg.as_bytes())


def opening_lines(text: str, *, lines: int = 6, width: int = 300) -> str:
    """The first non-empty lines of the customer's message, for a digest."""
    kept = [header_safe(line, width) for line in text.splitlines() if line.strip()]
    return "\n".join(kept[:lines])
