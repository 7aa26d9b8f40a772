"""May we auto-reply? RFC 3834 plus the usual robot markers, and a per-sender rate limit."""

from __future__ import annotations

import re
from collections.abc import Iterable

from mailbot.domain import LoopVerdict, ParsedMail

_ROBOT_LOCALPART = re.compile(
    r"^(mailer-daemon|postmaster|no[-_.]?reply|do[-_.]?not[-_.]?reply|bounces?|auto[-_.]?reply)"
    r"([-+_.].*)?$",
    re.IGNORECASE,
)
_ADDR_SPEC = re.compile(r"^[^@\s<>\"(),;:\\]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+$")
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})
_ROBOT_HEADERS = ("x-autoreply", "x-autorespond", "x-auto-response-suppress")


def loop_verdict(
    mail: ParsedMail,
    *,
    own_addresses: Iterable[str],
    recent_acks_to_sender: int,
    max_acks_per_hour: int,
) -> LoopVerdict:
    """Decide whether an acknowledgement may go to the sender; the first reason found wins."""
    for check in (_auto_submitted, _precedence, _list_mail, _robot_header, _empty_return_path):
        reason = check(mail)
        if reason:
            return LoopVerdict(False, reason)
    sender = mail.from_address.lower()
    if not _ADDR_SPEC.match(sender):
        return LoopVerdict(False, "no usable sender address")
    if sender in {a.lower() for a in own_addresses}:
        return LoopVerdict(False, "sender is one of our own addresses")
    if _ROBOT_LOCALPART.match(sender.split("@", 1)[0]):
        return LoopVerdict(False, f"robot sender {sender}")
    if recent_acks_to_sender >= max_acks_per_hour:
        return LoopVerdict(
            False, f"rate limit: {recent_acks_to_sender} acks to sender in the last hour"
        )
    return LoopVerdict(True)


def _auto_submitted(mail: ParsedMail) -> str:
    value = mail.header("auto-submitted").strip().lower()
    return f"Auto-Submitted: {value}" if value and not value.startswith("no") else ""


def _precedence(mail: ParsedMail) -> str:
    value = mail.header("precedence").strip().lower()
    return f"Precedence: {value}" if value in _BULK_PRECEDENCE else ""


def _list_mail(mail: ParsedMail) -> str:
    for name in ("list-id", "list-unsubscribe"):
        if mail.has_header(name):
            return f"mailing list ({name})"
    return ""


def _robot_header(mail: ParsedMail) -> str:
    return next((f"{name} header" for name in _ROBOT_HEADERS if mail.has_header(name)), "")


def _empty_return_path(mail: ParsedMail) -> str:
    if mail.has_header("return-path") and mail.header("return-path").strip() in ("<>", ""):
        return "empty Return-Path (bounce)"
    return ""
