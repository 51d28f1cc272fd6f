# Shortcuts; the scripts are the source of truth and need no make.
.PHONY: build run test bench dashboard

build: dashboard
	CGO_ENABLED=0 go build -trimpath -o bin/ ./cmd/soulbox ./cmd/soulbox-agent

run:
	./scripts/server.sh

test:
	./scripts/test.sh

# soulbox bench against a server started for it (README, Performance).
bench:
	./scripts/bench.sh

# The runtime driver's own benchmarks, against the raw runc baseline.
.PHONY: bench-runtime
bench-runtime:
	go test -run '^$$' -bench . -benchtime 20x -count 5 ./internal/runtime/oci/

# Regenerate the Go code of the .proto files under api/ (tools pinned in the script).
.PHONY: generate
generate:
	./scripts/generate.sh

# The web dashboard, built into internal/dashboard/dist/app for the binary
# to embed (a binary built without it serves a page saying to run this).
# npm ci runs only when web/node_modules is missing or older than the
# lock file, as in scripts/setup.sh.
dashboard:
	@if [ ! -d web/node_modules/vite ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then \
		echo npm ci --prefix web; npm ci --prefix web --no-audit --no-fund --loglevel=error; fi
	npm run build --prefix web --silent
