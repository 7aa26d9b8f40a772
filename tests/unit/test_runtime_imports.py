"""The daemon runs without scikit-learn, scipy or skops in memory (~140 MB of RSS they
cost): `mailbot run`'s imports, app wiring, the shipped model and the FAQ index, in a fresh
interpreter. With its prepare worker, it also holds no model, no HTML or charset parser (the
worker parses), no Alembic (a new SQLite database gets the baseline schema, an older one is
migrated in a child) and no OpenSSL bindings (no archive key)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import write_offline_config

HEAVY = ("sklearn", "scipy", "skops")

PROGRAM = """
import sys
from pathlib import Path
import mailbot.cli.main
import mailbot.cli.run  # what `mailbot run` imports (main loads subcommands on demand)
from mailbot.runners.app import build
from mailbot.settings import load_settings

app = build(load_settings(Path(sys.argv[1])))
assert app.processor._model._model is None, "the worker holds the model, not the daemon"
worker_only = {"alembic", "mako", "cryptography", "lxml", "inscriptis", "charset_normalizer"}
worker_only &= {m.split(".")[0] for m in sys.modules}
assert not worker_only, sorted(worker_only)
app.pool.close()
model = app.processor._model()  # as when the worker failed: loaded here
text = "Deposit not credited\\nI sent 0.5 ETH two hours ago, txid 0xab12"
cats, urgs = model.predict(text)
model.explain(text, {"category": max(cats, key=cats.get), "urgency": "high"})
links = app.processor._preparer._suggest([(text, "en")])
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[2:]))
print(type(model).__name__, len(links), "heavy:", ",".join(heavy) or "none")
"""


def test_mailbot_run_does_not_import_sklearn_scipy_or_skops(tmp_path: Path) -> None:
    config = write_offline_config(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(config), *HEAVY],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["RuntimeModel", "1", "heavy:", "none"], done.stdout
