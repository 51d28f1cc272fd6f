#!/usr/bin/env bash
# Sets up this host (see setup.sh) and runs every test: formatting, vet,
# and the Go tests with the race detector, as root, with real sandboxes.
# The first run builds the base template (a few minutes); later runs reuse
# it from /var/lib/soulbox/templates (SOULBOX_TEMPLATE_CACHE to change).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
for d in /usr/local/go/bin /usr/lib/go/bin; do
	[ -x "$d/go" ] && case ":$PATH:" in *":$d:"*) ;; *) PATH="$d:$PATH" ;; esac
done
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	printf 'gofmt needed:\n%s\n' "$unformatted" >&2
	exit 1
fi
./scripts/check-generated.sh
go vet ./...
go test -race -count=1 -timeout 40m "$@" ./...
