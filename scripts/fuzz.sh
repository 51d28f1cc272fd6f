#!/usr/bin/env bash
# Runs every Go fuzz target of the module for a short time each
# (FUZZTIME, default 10s), one after the other: `go test -fuzz` takes one
# target of one package at a time. The committed seed corpora
# (testdata/fuzz) also run as plain tests in ./scripts/test.sh.
#   ./scripts/fuzz.sh                    # every package
#   FUZZTIME=5m ./scripts/fuzz.sh ./internal/api
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)
for pkg in $(go list "${pkgs[@]}"); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		echo "==> $pkg $target ($fuzztime)"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -parallel 1 "$pkg"
	done
done
