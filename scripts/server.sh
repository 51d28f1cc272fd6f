#!/usr/bin/env bash
# Sets up this host (see setup.sh) and runs the SoulBox server with the
# embedded defaults: SQLite in /var/lib/soulbox, listening on
# 127.0.0.1:3000. Arguments are passed to `soulbox server`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec ./bin/soulbox server "$@"
