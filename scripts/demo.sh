#!/usr/bin/env bash
# The README's first command: install what is needed and run the main job end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-system-deps.sh
scripts/bootstrap.sh
exec .venv/bin/python scripts/demo.py
