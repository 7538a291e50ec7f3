# Tracklet: `make run` to try it, `make test` before you push.

GO        ?= go
ADDR      ?= 127.0.0.1:8080
DB        ?= data/tracklet.db
WORKER_ADDR ?= 127.0.0.1:8787
# The dashboard's admin token for `make run`: yours, or a new random one.
ifndef ADMIN_TOKEN
ADMIN_TOKEN := $(shell od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
endif
DIST      := web/dist
GOWASM    := $(shell $(GO) env GOROOT)/lib/wasm
# validator_novalidatefn drops validator's one call of reflect's MethodByName,
# which otherwise makes the linker keep every exported method of every type
# (-203 KB brotli at 7712d73); no inlining (-gcflags=all=-l) trades a little
# speed for another 160 KB (README, Size). `make build` prints what users
# download.
WASMTAGS  := validator_novalidatefn
WASMBUILD := -trimpath -tags $(WASMTAGS) -gcflags=all=-l
WASMFLAGS := $(WASMBUILD) -ldflags="-s -w"

.PHONY: all build wasm wasm-size run test test-go test-wasm tsc lint bench bench-peers worker worker-dev clean

all: build

## build: the browser module (with its size report) and the collector binary
build: wasm
	$(GO) build -trimpath -o bin/tracklet ./server/cmd/tracklet

# The build list of the browser files. ENTRIES are ES module sources
# (js/src), bundled with what they import, and keep their names (sites put
# them in their pages); every other file gets a content-hashed name, and
# each source's string literal naming it ("tracklet.wasm") is rewritten to
# that name. A file a source names must be here: web/cmd/assets refuses a
# name that is not, and a hashed file that no source names.
ENTRIES   := js/src/tracklet.js js/src/tracklet.mjs
HASHED    := js/tracklet-sender.js $(GOWASM)/wasm_exec.js bin/wasm/tracklet.wasm
# The npm package "tracklet", written by the same step: its module
# (js/src/npm.mjs, with wasm_exec.js and the sender in it), the HASHED
# files under their own names, and these as they are. Not under web/dist:
# the collector does not serve it. `npm pack bin/npm` packs it.
NPM       := bin/npm
NPMFILES  := js/npm/package.json js/tracklet.d.ts js/tracklet.d.mts

## wasm: the browser module into web/dist, which the collector embeds
# web/cmd/assets writes web/dist as the collector serves it: the hashed
# files, the rewritten entries, their brotli and gzip forms, and the
# manifest listing them (package server/assets), and the npm package in
# $(NPM), which gets the same stamp (web/npm_test.go checks it). The stamp hashes the
# sources as the build starts and is put in place once everything is built:
# the browser tests (web/browsertest.CheckDist) fail on a web/dist older
# than the tree instead of testing the old module. A dot file, so that
# go:embed leaves it out and the collector never serves it.
wasm:
	@mkdir -p bin/wasm
	$(GO) run ./web/cmd/stamp > $(DIST)/.sources.sha256.new
	GOOS=js GOARCH=wasm $(GO) build $(WASMFLAGS) -o bin/wasm/tracklet.wasm ./wasm
	$(GO) run ./web/cmd/assets -out $(DIST) $(addprefix -entry ,$(ENTRIES)) \
	  -npm $(NPM) -npm-entry js/src/npm.mjs $(addprefix -npm-file ,$(NPMFILES)) $(HASHED)
	cp $(DIST)/.sources.sha256.new $(NPM)/.sources.sha256
	mv $(DIST)/.sources.sha256.new $(DIST)/.sources.sha256

## wasm-size: each Go package's share of tracklet.wasm, from a build that
## differs from `make wasm` only by keeping the function names (no -s)
wasm-size:
	@mkdir -p bin
	GOOS=js GOARCH=wasm $(GO) build $(WASMBUILD) -ldflags="-w" -o bin/tracklet-names.wasm ./wasm
	$(GO) run ./web/cmd/wasmsize -tags $(WASMTAGS) -pkg ./wasm bin/tracklet-names.wasm

## run: the collector with the demo site on an embedded SQLite file
run: build
	@echo "Dashboard: http://$(ADDR)/dashboard  (admin token: $(ADMIN_TOKEN))"
	./bin/tracklet serve --addr $(ADDR) --db $(DB) --demo --admin-token $(ADMIN_TOKEN)

## test: every test, native, under Node (wasm) and in headless Chromium
test: build lint test-go test-wasm

# Every native package runs under -race, the browser ones too: their Go side
# (harness, proxy, fake collectors) is concurrent, and -race costs them
# little, for they mostly wait on Chromium: web/ took 35 s of CPU with it,
# 29 s without (one run each, back to back on this shared machine). The
# wasm tests cannot: -race does not exist for js/wasm. The timeout (per package)
# guards against a hang: server/http takes ~6 min under -race on a loaded
# machine, server/worker starts wrangler dev (workerd) seven times, ~8 min.
test-go: tsc
	$(GO) vet ./...
	TSC=$(TSC) $(GO) test -race -count=1 -timeout 20m ./...

# tsc checks js/tracklet.d.ts (js/types_test.go fails without it): the pinned
# TypeScript, installed outside the repository on first use, unless $TSC
# names one already.
TSC_DIR   ?= $(or $(TMPDIR),/tmp)/tracklet-tsc
TSC       ?= $(TSC_DIR)/node_modules/.bin/tsc
TYPESCRIPT := typescript@5.9.3
tsc:
	@command -v "$(TSC)" >/dev/null || \
	  npm install --no-save --no-audit --no-fund --prefix "$(TSC_DIR)" $(TYPESCRIPT) >/dev/null

test-wasm:
	PATH="$(GOWASM):$$PATH" GOOS=js GOARCH=wasm $(GO) test -tags $(WASMTAGS) -count=1 ./event/... ./wasm/...

## lint: staticcheck (pinned), on the native packages and on the browser module as js/wasm
# Part of `make test`: the tree is clean of its findings, and stays so.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
TOOLS       := $(or $(TMPDIR),/tmp)/tracklet-tools
lint:
	GOBIN=$(TOOLS) $(GO) install $(STATICCHECK)
	$(TOOLS)/staticcheck ./...
	GOOS=js GOARCH=wasm $(TOOLS)/staticcheck -tags $(WASMTAGS) ./event/... ./wasm/...

## bench: Go benchmarks (browser, worker, codec), the collector's load
## generator, and Tracklet beside the peer trackers (bench-peers)
bench: build
	$(GO) test -run='^$$' -bench=. -benchmem -timeout 20m ./...
	$(GO) run ./server/cmd/tracklet-load -duration 5s
	$(GO) run ./server/cmd/tracklet-load -duration 5s -ids v4
	$(MAKE) bench-peers

## bench-peers: ../shared/peerbench on bin/tracklet: burst, low-end cold visit
## and Lighthouse mobile, peers in the same run; one Markdown table (ROUNDS,
## PEERS, BURST_PEERS, BENCHES, OUT: see web/bench/peers.sh)
bench-peers: build
	bash web/bench/peers.sh

## worker: the Cloudflare Worker (server/worker/build), with the browser module as its static assets;
## installs the pinned wrangler (npm ci) first, so that `npx wrangler` in server/worker is that one
worker: wasm
	GO=$(GO) bash server/worker/build.sh

## worker-dev: the worker under wrangler dev on $(WORKER_ADDR) with local D1, Queue and R2 (tracker tk_dev,
## admin token dev); `make worker` meanwhile makes it reload, a second worker-dev refuses to start
worker-dev: wasm
	GO=$(GO) ADDR=$(WORKER_ADDR) bash server/worker/dev.sh

clean:
	rm -rf bin server/worker/build server/worker/.wrangler $(DIST)/.sources.sha256* $(filter-out $(DIST)/README.md,$(wildcard $(DIST)/*))
