#!/usr/bin/env bash
# stop.sh: what `make stop` does: stop the stack recorded under VAR_DIR/run.
set -euo pipefail
cd "$(dirname "$0")/.."
VAR_DIR=${VAR_DIR:-var}
if [ ! -d "$VAR_DIR/run" ]; then echo "nothing running under $VAR_DIR"; exit 0; fi
scripts/stack.sh stop "$(cd "$VAR_DIR" && pwd)"
echo "stopped"
