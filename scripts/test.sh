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
# The reliability suites (escape, crash, soak) drive bin/soulbox as a
# process and load the host (a fork bomb, crash loops): they run after the
# rest, one package at a time, so no other package's timing shares the
# machine with them. SOULBOX_SOAK_CYCLES and SOULBOX_CRASH_ROUNDS make them
# longer (docs/RELIABILITY.md).
suites='^github.com/soulbox/soulbox/tests/(escape|crash|soak)$'
go test -race -count=1 -timeout 40m "$@" $(go list ./... | grep -Ev "$suites")
go test -count=1 -p 1 -timeout 40m "$@" $(go list ./... | grep -E "$suites")
# The Helm chart's tests are a module of their own (deploy/helm), so that
# the Kubernetes API types stay out of the server's dependencies.
(cd deploy/helm && go vet ./... && go test -count=1 ./...)
