"""The running daemon serves /metrics and /health on its loopback port."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from mailbot.testing.servers import Dovecot, SmtpReceiver, free_port
from tests.conftest import running_daemon, write_config


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


def test_metrics_and_health_of_the_running_daemon(
    tmp_path: Path, dovecot: Dovecot, smtp_receiver: SmtpReceiver
) -> None:
    port = free_port()
    config = write_config(tmp_path, dovecot, smtp_receiver, f"[metrics]\nport = {port}\n")
    base = f"http://127.0.0.1:{port}"
    with running_daemon(config, dovecot.password):
        dovecot.append(
            b"From: a@customer.test\r\nSubject: API key error\r\nMessage-ID: <m-1@customer.test>"
            b"\r\n\r\nMy API returns 401 invalid signature since this morning.\r\n"
        )
        smtp_receiver.wait_for(1, timeout=30)
        deadline = time.monotonic() + 30
        while (status := get(f"{base}/health"))[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert status[0] == 200, status
        health = json.loads(status[1])
        assert health["database"] is True and health["unavailable"] == []
        code, body = get(f"{base}/metrics")
        assert code == 200
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body.decode())
            for s in family.samples
        }
        assert samples["mailbot_messages_ingested_total", ()] == 1
        deadline = time.monotonic() + 10
        while samples.get(("mailbot_mail_sent_total", (("kind", "ack"),))) != 1:
            assert time.monotonic() < deadline, samples
            time.sleep(0.3)
            samples = {
                (s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(get(f"{base}/metrics")[1].decode())
                for s in family.samples
            }
        assert any(name == "mailbot_model_info" for name, _ in samples)
        dovecot.stop()  # IMAP gone: health says so
        deadline = time.monotonic() + 60
        while (status := get(f"{base}/health"))[0] != 503 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert status[0] == 503 and json.loads(status[1])["unavailable"], status
        dovecot.start()
