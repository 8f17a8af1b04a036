#!/usr/bin/env bash
# One command to set up everything (system packages included) and start the assistant.
# Extra arguments are passed to 'assistant' (e.g. 'chat', or 'ask "what causes twitching"').
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/assistant "$@"
