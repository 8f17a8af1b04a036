#!/usr/bin/env bash
# One command to set up everything (system packages included) and run all tests.
set -euo pipefail
cd "$(dirname "$0")/.."
ASSISTANT_EXTRAS=test bash scripts/setup.sh
.venv/bin/ruff check assistant tests bench
.venv/bin/mypy assistant
.venv/bin/python -m pytest "$@"
