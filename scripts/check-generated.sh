#!/usr/bin/env bash
# Fails when the generated code under api/ is not what scripts/generate.sh
# produces from the .proto files, i.e. someone edited a .proto (or bumped
# protobuf/connect in go.mod) without running `make generate`. CI runs it.
#
# It regenerates into the tree, so after a failure the fix is already in the
# working copy: review it with `git diff -- api/` and commit it.
set -euo pipefail
cd "$(dirname "$0")/.."

# generated lists every generated file under api/ with its checksum.
generated() {
	find api -type f \( -name '*.pb.go' -o -name '*.connect.go' \) -print0 |
		LC_ALL=C sort -z | xargs -0 -r sha256sum
}

fail() {
	{
		echo "check-generated: $1"
		echo "check-generated: run ./scripts/generate.sh (make generate) and commit the result"
	} >&2
	exit 1
}

clean_before=$(git status --porcelain --untracked-files=all -- api/)
before=$(generated)
./scripts/generate.sh
after=$(generated)

if [ "$before" != "$after" ]; then
	echo "check-generated: regenerating changed these files (- before, + after):" >&2
	diff <(echo "$before") <(echo "$after") | grep '^[<>]' | sed 's/^</-/; s/^>/+/' >&2 || true
	git --no-pager diff --stat -- api/ >&2 || true
	fail "generated code under api/ is stale"
fi

# From a clean checkout (CI), git must also see nothing: no changed and no new
# files. With local edits in api/, the comparison above is the check.
if [ -z "$clean_before" ]; then
	if ! git diff --quiet -- api/; then
		git --no-pager diff --stat -- api/ >&2
		fail "generated code under api/ differs from the committed code"
	fi
	untracked=$(git ls-files --others --exclude-standard -- api/)
	if [ -n "$untracked" ]; then
		printf '%s\n' "$untracked" >&2
		fail "generating created files under api/ that are not committed"
	fi
fi
echo "check-generated: generated code under api/ is up to date"
