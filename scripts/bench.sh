#!/usr/bin/env bash
# Runs `soulbox bench` against a SoulBox server started for it: its own
# data dir and port, the shared template cache, the default warm pool.
# Arguments go to `soulbox bench` (e.g. --json, --only exec,create_warm).
# Needs root, like the server. To measure a server already running, run
# `./bin/soulbox bench --server URL --api-key KEY` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
CGO_ENABLED=0 go build -trimpath -o bin/ ./cmd/soulbox ./cmd/soulbox-agent

data=$(mktemp -d /var/tmp/soulbox-bench.XXXXXX)
port=${SOULBOX_BENCH_PORT:-3917}
templates=${SOULBOX_TEMPLATES_DIR:-/var/lib/soulbox/templates}
./bin/soulbox server --listen 127.0.0.1:$port --data-dir "$data" --templates-dir "$templates" \
	--max-sandboxes 1000 --log-level warn 2>"$data/server.log" &
server=$!
cleanup() {
	kill "$server" 2>/dev/null || true
	wait "$server" 2>/dev/null || true
	rm -rf "$data"
}
trap cleanup EXIT

for _ in $(seq 600); do
	curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && [ -s "$data/admin.key" ] && break
	sleep 0.5
done
# The pool fills once the template is ready; give it a moment.
sleep 5
./bin/soulbox bench --server "http://127.0.0.1:$port" --api-key "$(cat "$data/admin.key")" --templates-dir "$templates" "$@"
