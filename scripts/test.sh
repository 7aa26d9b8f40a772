#!/usr/bin/env bash
# The whole test suite on a fresh machine: system packages, venv, lint, types, tests.
# Extra arguments go to pytest (e.g. scripts/test.sh -k end_to_end).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-system-deps.sh
scripts/bootstrap.sh
echo "== ruff"
.venv/bin/ruff check mailbot tests scripts bench
.venv/bin/ruff format --check mailbot tests scripts bench
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
exec .venv/bin/python -m pytest "$@"
