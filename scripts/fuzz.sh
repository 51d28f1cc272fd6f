#!/usr/bin/env bash
# Runs every Go fuzz target of the module (each `func FuzzXxx(f *testing.F)`
# in a _test.go file, wherever it is) for a bounded time, one after the
# other, and fails if any finds an input that breaks it. go test writes
# such an input to <package>/testdata/fuzz/<target>/, where it becomes a
# seed that every later `go test` replays: fix the bug, keep the file.
#
#   FUZZTIME      time per target (go test -fuzztime), default 10s
#   FUZZPARALLEL  fuzzing workers per target, default GOMAXPROCS
#   FUZZ_MATCH    only targets whose name matches this extended regexp
set -euo pipefail
cd "$(dirname "$0")/.."
for d in /usr/local/go/bin /usr/lib/go/bin; do
	[ -x "$d/go" ] && case ":$PATH:" in *":$d:"*) ;; *) PATH="$d:$PATH" ;; esac
done
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}
fuzztime=${FUZZTIME:-10s}
parallel=()
[ -n "${FUZZPARALLEL:-}" ] && parallel=(-parallel "$FUZZPARALLEL")

# "<package dir> <target>" for every fuzz target, tracked or not yet.
targets=$(find . -name node_modules -prune -o -name '*_test.go' -print |
	xargs grep -H -o -E '^func Fuzz[A-Za-z0-9_]*\(' |
	sed -E 's|^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\($|\1 \2|' |
	grep -E " ${FUZZ_MATCH:-.}" | sort -u || true)
if [ -z "$targets" ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi

start=$SECONDS
failed=()
count=0
while read -r dir name; do
	count=$((count + 1))
	echo "==> $name ($dir, $fuzztime)"
	out=$(mktemp)
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "${parallel[@]}" "$dir" 2>&1 | tee "$out"; then
		# go's fuzzing coordinator can miss its own deadline on a loaded
		# host ("context deadline exceeded", no input found): that run is
		# repeated once; a failing input is never retried away.
		if grep -q "context deadline exceeded" "$out" && ! grep -q "Failing input written" "$out"; then
			echo "==> $name: the fuzzing run missed its deadline without a finding; once more"
			go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "${parallel[@]}" "$dir" || failed+=("$name ($dir)")
		else
			failed+=("$name ($dir)")
		fi
	fi
	rm -f "$out"
done <<<"$targets"

echo "fuzz: $count targets in $((SECONDS - start))s"
if [ ${#failed[@]} -gt 0 ]; then
	printf 'fuzz: failed: %s\n' "${failed[@]}" >&2
	echo "fuzz: the failing inputs are under each package's testdata/fuzz/<target>/" >&2
	exit 1
fi
