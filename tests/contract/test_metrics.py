"""/metrics and /health over real HTTP, figures read from a real SQLite store."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from mailbot.adapters.metrics import DatabaseCollector, MetricsServer, database_ok
from mailbot.adapters.store import Store
from mailbot.testing.seed import customer_raw, seed_tickets

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)


def samples(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_and_health(store: Store) -> None:
    refs = seed_tickets(store, [customer_raw(n) for n in range(3)], now=NOW, urgency="critical")
    outbox = store.due_outbox(NOW, 10)
    store.mark_sent(outbox[0].id, now=NOW)
    store.mark_dead(outbox[1].id, error="550", now=NOW)
    registry = CollectorRegistry()
    registry.register(
        DatabaseCollector(store.engine, now=lambda: NOW + timedelta(hours=5), model=lambda: "v7")
    )
    healthy = {"healthy": True, "database": database_ok(store.engine), "down": []}
    server = MetricsServer(registry, lambda: healthy, host="127.0.0.1", port=0)
    server.start()
    try:
        got = samples(server.port)
        assert got["mailbot_messages_ingested_total", ()] == 3
        assert got["mailbot_mail_sent_total", (("kind", "ack"),)] == 1
        assert got["mailbot_mail_failed_total", (("kind", "ack"),)] == 1
        assert got["mailbot_outbox_depth", ()] == 1
        assert got["mailbot_open_tickets", (("urgency", "critical"),)] == len(refs)
        assert got["mailbot_sla_breached_tickets", ()] == 3  # due after 4 h, now + 5 h
        assert got["mailbot_model_info", (("version", "v7"),)] == 1
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/health", timeout=10) as r:
            assert json.loads(r.read())["database"] is True
        healthy["healthy"] = False
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{server.port}/health", timeout=10)
            raise AssertionError("an unhealthy daemon must answer 503")
        except urllib.error.HTTPError as exc:
            assert exc.code == 503
    finally:
        server.close()
