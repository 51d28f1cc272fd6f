#!/usr/bin/env bash
# Regenerates the Go code of the protocol definitions under api/ (see
# buf.gen.yaml) and is what `make generate` runs.
#
# The tools come from the Go module proxy only, built into bin/tools: buf at
# BUF_VERSION below, and protoc-gen-go and protoc-gen-connect-go at the
# versions of google.golang.org/protobuf and connectrpc.com/connect that go.mod
# requires, so generated code always matches the runtime it compiles against.
# To move a plugin, `go get` the runtime module; the generator follows.
# A tool already in bin/tools at the right version is not rebuilt.
set -euo pipefail
cd "$(dirname "$0")/.."
for d in /usr/local/go/bin /usr/lib/go/bin; do
	[ -x "$d/go" ] && case ":$PATH:" in *":$d:"*) ;; *) PATH="$d:$PATH" ;; esac
done

BUF_VERSION=v1.75.0
# The out directories of buf.gen.yaml: their generated files are removed
# first, so a deleted or renamed .proto leaves no stale code behind.
GEN_DIRS=(api/envd api/node)

tools="$PWD/bin/tools"
mkdir -p "$tools"

# install_tool <package> <module> <version> builds <package> from the module
# proxy unless bin/tools already holds it at that module version.
install_tool() {
	local pkg=$1 mod=$2 version=$3
	local bin="$tools/${pkg##*/}"
	if [ -x "$bin" ] && go version -m "$bin" 2>/dev/null |
		awk -v m="$mod" -v v="$version" '$1 == "mod" && $2 == m && $3 == v { found = 1 } END { exit !found }'; then
		return
	fi
	echo "generate: building ${pkg##*/} $version" >&2
	GOBIN="$tools" go install "$pkg@$version"
}

protobuf_version=$(go list -m -f '{{.Version}}' google.golang.org/protobuf)
connect_version=$(go list -m -f '{{.Version}}' connectrpc.com/connect)

install_tool github.com/bufbuild/buf/cmd/buf github.com/bufbuild/buf "$BUF_VERSION"
install_tool google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/protobuf "$protobuf_version"
install_tool connectrpc.com/connect/cmd/protoc-gen-connect-go connectrpc.com/connect "$connect_version"

find "${GEN_DIRS[@]}" -type f \( -name '*.pb.go' -o -name '*.connect.go' \) -delete
"$tools/buf" generate
"$tools/buf" generate --template buf.gen.node.yaml
