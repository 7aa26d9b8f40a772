"""May we auto-reply? RFC 3834 plus the usual robot markers, and a per-sender rate limit.

The first signal found wins, in the order of tests/corpus/README.md ("Reason words and their
precedence"); every reason starts with that lower-case keyword so it can be counted."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from mailbot.domain import LoopVerdict, ParsedMail

_MAILER_DAEMON = re.compile(r"^mailer-daemon$", re.IGNORECASE)
_NO_REPLY = re.compile(r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply)([-+_.].*)?$", re.IGNORECASE)
_OTHER_ROBOT = re.compile(
    r"^(mailer-daemon|postmaster|bounces?|auto[-_.]?reply)([-+_.].*)?$", re.IGNORECASE
)
_ADDR_SPEC = re.compile(r"^[^@\s<>\"(),;:\\]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+$")
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})


def loop_verdict(
    mail: ParsedMail,
    *,
    own_addresses: Iterable[str],
    recent_acks_to_sender: int,
    max_acks_per_hour: int,
) -> LoopVerdict:
    """Decide whether an acknowledgement may go to the sender; the first reason found wins."""
    for check in _CHECKS:
        reason = check(mail)
        if reason:
            return LoopVerdict(False, reason, robot=True)
    sender = mail.from_address.lower()
    if not _ADDR_SPEC.match(sender):
        return LoopVerdict(False, "no usable sender address")
    if sender in {a.lower() for a in own_addresses}:
        return LoopVerdict(False, "sender is one of our own addresses")
    if recent_acks_to_sender >= max_acks_per_hour:
        return LoopVerdict(
            False, f"rate limit: {recent_acks_to_sender} acks to sender in the last hour"
        )
    return LoopVerdict(True)


def _auto_submitted(mail: ParsedMail) -> str:
    value = mail.header("auto-submitted").strip().lower()
    return f"auto-submitted: {value}" if value and not value.startswith("no") else ""


def _present(name: str, what: str) -> Callable[[ParsedMail], str]:
    def check(mail: ParsedMail) -> str:
        return f"{name} header ({what})" if mail.has_header(name) else ""

    return check


def _precedence(mail: ParsedMail) -> str:
    value = mail.header("precedence").strip().lower()
    return f"precedence: {value}" if value in _BULK_PRECEDENCE else ""


def _local_part(mail: ParsedMail) -> str:
    return mail.from_address.rsplit("@", 1)[0].strip()


def _mailer_daemon(mail: ParsedMail) -> str:
    sender = mail.from_address
    return f"mailer-daemon sender {sender}" if _MAILER_DAEMON.match(_local_part(mail)) else ""


def _empty_return_path(mail: ParsedMail) -> str:
    if mail.has_header("return-path") and mail.header("return-path").strip() in ("<>", ""):
        return "empty-return-path: Return-Path <> (a bounce)"
    return ""


def _no_reply(mail: ParsedMail) -> str:
    return f"no-reply sender {mail.from_address}" if _NO_REPLY.match(_local_part(mail)) else ""


def _delivery_report(mail: ParsedMail) -> str:
    return "delivery-report (DSN)" if mail.is_delivery_report else ""


def _other_robot(mail: ParsedMail) -> str:
    sender = mail.from_address
    return f"robot sender {sender}" if _OTHER_ROBOT.match(_local_part(mail)) else ""


_CHECKS: tuple[Callable[[ParsedMail], str], ...] = (
    _auto_submitted,
    _present("x-autoreply", "automatic reply"),
    _present("x-autorespond", "automatic reply"),
    _present("x-auto-response-suppress", "automatic or bulk mail"),
    _precedence,
    _present("list-id", "mailing list"),
    _present("list-unsubscribe", "mailing list"),
    _mailer_daemon,
    _empty_return_path,
    _no_reply,
    _delivery_report,
    _other_robot,
)
