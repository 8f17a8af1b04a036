#!/usr/bin/env bash
# One command to set up everything (system packages included) and start the assistant.
# With no arguments it starts the hands-free voice loop, downloading the English speech
# model first if none is installed (once, about 40 MB; fully offline afterwards).
# Extra arguments are passed to 'assistant' (e.g. 'chat', or 'ask "what causes twitching"').
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ $# -eq 0 ] || [ "$1" = "listen" ]; then
  if ! .venv/bin/assistant model path >/dev/null 2>&1; then
    echo "start: no speech model yet; downloading the English model (about 40 MB, once)" >&2
    .venv/bin/assistant model download
  fi
fi
exec .venv/bin/assistant "$@"
