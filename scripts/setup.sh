#!/usr/bin/env bash
# Installs what SoulBox needs on a Debian or Ubuntu host and builds its
# binaries into ./bin. Safe to run again: it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (sudo $0): sandboxes need user namespaces, mounts and cgroups"
command -v apt-get >/dev/null || die "this script supports Debian and Ubuntu (apt-get not found)"

# Debian packages: the OCI runtimes, debootstrap for the base template,
# e2fsprogs for sandbox disk images, and the tools the tests drive.
packages=(runc crun debootstrap debian-archive-keyring gpg uidmap e2fsprogs iproute2 procps ca-certificates curl git util-linux gcc)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

# gVisor (runsc), the stronger isolation tier, from bookworm-backports
# where this is Debian bookworm: the bookworm build lacks the systrap
# platform. Optional: SoulBox runs without it.
if ! command -v runsc >/dev/null && grep -q '^VERSION_CODENAME=bookworm' /etc/os-release 2>/dev/null; then
	if [ ! -e /etc/apt/sources.list.d/soulbox-backports.sources ]; then
		cat > /etc/apt/sources.list.d/soulbox-backports.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
		apt-get update -q || log "could not update bookworm-backports; skipping runsc"
	fi
	log "installing runsc (gVisor) from bookworm-backports"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q -t bookworm-backports runsc ||
		log "runsc not installed: the gVisor tier will be unavailable"
fi

# Go: the module needs the version in go.mod. A Go of 1.21 or later fetches
# the right toolchain by itself (GOTOOLCHAIN=auto); older or none cannot.
for d in /usr/local/go/bin /usr/lib/go/bin; do
	[ -x "$d/go" ] && case ":$PATH:" in *":$d:"*) ;; *) PATH="$d:$PATH" ;; esac
done
command -v go >/dev/null || die "Go is not installed: install Go 1.21 or later (https://go.dev/doc/install, or Debian's golang-1.2x packages from backports) and run again"
minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
[ "$minor" -ge 21 ] 2>/dev/null || die "Go $(go env GOVERSION) is too old: install Go 1.21 or later and run again"
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}

# The compatibility tests drive SoulBox with the official E2B SDK for
# JavaScript, pinned in tests/compat/package-lock.json.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	log "installing nodejs and npm"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm
fi
if [ ! -d tests/compat/node_modules/e2b ] || [ tests/compat/package-lock.json -nt tests/compat/node_modules/.package-lock.json ]; then
	log "installing the E2B SDK for the compatibility tests"
	npm ci --prefix tests/compat --no-audit --no-fund --loglevel=error
fi
# The LangChain example's test runs its tools, pinned in its package-lock.json.
if [ ! -d examples/langchain-js/node_modules/@langchain/core ] || [ examples/langchain-js/package-lock.json -nt examples/langchain-js/node_modules/.package-lock.json ]; then
	log "installing the LangChain example's packages"
	npm ci --prefix examples/langchain-js --no-audit --no-fund --loglevel=error
fi

log "building bin/soulbox and bin/soulbox-agent"
CGO_ENABLED=0 go build -trimpath -o bin/ ./cmd/soulbox ./cmd/soulbox-agent
