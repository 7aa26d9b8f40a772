"""Prometheus metrics and a health endpoint on a loopback port.

Every figure is read from the database when Prometheus scrapes, not counted in memory: the
numbers survive restarts and agree between several instances on one database, and the
runners need no instrumentation. The queries use indexed columns; see bench/ for their cost.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, text
from sqlmodel import Session, col, select

from mailbot.adapters.tables import EscalationRow, InboxMessage, Outbox, Ticket
from mailbot.domain import InboxStatus, OutboxStatus, TicketStatus

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class DatabaseCollector(Collector):
    def __init__(
        self, engine: Engine, *, now: Callable[[], datetime], model: Callable[[], str]
    ) -> None:
        self._engine = engine
        self._now = now
        self._model = model

    def collect(self) -> Iterator[Any]:
        now = self._now()
        with Session(self._engine) as s:
            inbox = dict(
                s.exec(
                    select(InboxMessage.status, func.count()).group_by(col(InboxMessage.status))
                ).all()
            )
            outbox = s.exec(
                select(Outbox.kind, Outbox.status, func.count()).group_by(
                    col(Outbox.kind), col(Outbox.status)
                )
            ).all()
            open_by_urgency = s.exec(
                select(Ticket.urgency, func.count())
                .where(Ticket.status == TicketStatus.OPEN)
                .group_by(col(Ticket.urgency))
            ).all()
            breached = s.exec(
                select(func.count()).where(
                    Ticket.status == TicketStatus.OPEN,
                    col(Ticket.first_response_at).is_(None),
                    Ticket.first_response_due <= now,
                )
            ).one()
            escalations = s.exec(
                select(EscalationRow.target, EscalationRow.level, func.count()).group_by(
                    col(EscalationRow.target), col(EscalationRow.level)
                )
            ).all()
            oldest_waiting = s.exec(
                select(func.min(InboxMessage.fetched_at)).where(
                    InboxMessage.status == InboxStatus.RECEIVED
                )
            ).one()
        yield _counter(
            "mailbot_messages_ingested", "Messages fetched and archived.", sum(inbox.values())
        )
        yield _counter(
            "mailbot_messages_quarantined",
            "Messages set aside with a reason.",
            inbox.get(InboxStatus.QUARANTINED, 0),
        )
        sent = CounterMetricFamily(
            "mailbot_mail_sent", "Outgoing mail delivered (250).", labels=["kind"]
        )
        failed = CounterMetricFamily(
            "mailbot_mail_failed", "Outgoing mail given up (5xx).", labels=["kind"]
        )
        depth = GaugeMetricFamily("mailbot_outbox_depth", "Outgoing mail waiting to be sent.")
        pending = 0
        for kind, status, n in outbox:
            family = "ack" if kind == "ack" else "escalation" if kind.startswith("esc-") else kind
            if status == OutboxStatus.SENT:
                sent.add_metric([family], n)
            elif status == OutboxStatus.DEAD:
                failed.add_metric([family], n)
            elif status == OutboxStatus.PENDING:
                pending += n
        depth.add_metric([], pending)
        yield from (sent, failed, depth)
        lag = GaugeMetricFamily(
            "mailbot_ingest_lag_seconds",
            "Age of the oldest archived message not yet processed (0 when none waits).",
        )
        lag.add_metric([], max((now - oldest_waiting).total_seconds(), 0) if oldest_waiting else 0)
        yield lag
        tickets = GaugeMetricFamily(
            "mailbot_open_tickets", "Open tickets by urgency.", labels=["urgency"]
        )
        for urgency, n in open_by_urgency:
            tickets.add_metric([urgency], n)
        yield tickets
        breaches = GaugeMetricFamily(
            "mailbot_sla_breached_tickets",
            "Open tickets past their first-response due time without a response.",
        )
        breaches.add_metric([], breached)
        yield breaches
        esc = CounterMetricFamily(
            "mailbot_escalations", "Escalations recorded.", labels=["target", "level"]
        )
        for target, level, n in escalations:
            esc.add_metric([target, str(level)], n)
        yield esc
        info = InfoMetricFamily("mailbot_model", "The active classifier model.")
        info.add_metric([], {"version": self._model()})
        yield info


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc)
    family.add_metric([], value)
    return family


def database_ok(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure means "not reachable" for a health check
        return False


class MetricsServer:
    """GET /metrics (Prometheus text format) and GET /health (JSON; 503 when not healthy)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        health: Callable[[], dict[str, Any]],
        *,
        host: str,
        port: int,
    ) -> None:
        registry_, health_ = registry, health

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] == "/metrics":
                    try:
                        body, status, ctype = generate_latest(registry_), 200, CONTENT_TYPE
                    except Exception as exc:  # the database is down: say so, stay up
                        log.warning("metrics unavailable: %s", exc)
                        body, status, ctype = b"database unavailable\n", 503, "text/plain"
                elif self.path.split("?")[0] == "/health":
                    state = health_()
                    body = (json.dumps(state, sort_keys=True) + "\n").encode()
                    status, ctype = (200 if state.get("healthy") else 503), "application/json"
                else:
                    body, status, ctype = b"not found\n", 404, "text/plain"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
