#!/usr/bin/env bash
# Builds the Cloudflare Worker into server/worker/build:
#   worker.mjs            the loader (loader/worker.mjs): a pool of started Go runtimes
#   wasm_exec.js          Go's wasm glue, as syumai/workers patches it (globalThis.context)
#   app.wasm              the Go collector (./cmd/worker)
#   public/               the browser module, served as static assets
#   worker-library.mjs,   syumai/workers' own loader (a Go runtime per invocation),
#   runtime.mjs           kept only so that the benchmarks can compare the two
# and prints the sizes Cloudflare's 3 MiB (gzip) limit applies to.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$here/build"
GO="${GO:-go}"
cd "$root"

"$here/npm.sh" # the pinned wrangler, for what comes after a build

# Everything is built in a fresh directory and moved into build/ at the
# end, file by file with rename(2): a `make worker-dev` running meanwhile
# sees complete files only and reloads, instead of crashing on half a wasm.
mkdir -p "$out"
tmp="$(mktemp -d "$out.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
final="$out"
out="$tmp"

"$GO" run github.com/syumai/workers/cmd/workers-assets-gen -mode=go -o "$out"
mv "$out/worker.mjs" "$out/worker-library.mjs"
cp "$here/loader/worker.mjs" "$out/worker.mjs"
# -gcflags=all=-l (no inlining) makes the wasm 7% bigger raw but 8% smaller
# gzipped (2.58 MB, not 2.79 MB), which is what Cloudflare's limit counts.
# validator_novalidatefn: see the Makefile's note on the browser module.
GOOS=js GOARCH=wasm "$GO" build -trimpath -tags validator_novalidatefn -gcflags=all=-l -ldflags="-s -w" \
  -o "$out/app.wasm" ./server/worker/cmd/worker

# The browser module, if `make wasm` has built it, as static assets: the
# files its manifest lists (the loaders and the content-hashed files they
# name; Cloudflare compresses them itself) and a _headers file with CORS
# (tracklet.wasm is fetched cross-origin by the loader) and the collector's
# caching rules: the loaders briefly, the hashed files for ever.
mkdir -p "$out/public"
dist="$root/web/dist"
if [ -f "$dist/manifest.json" ]; then
  "$GO" run ./web/cmd/assets -out "$dist" -static "$out/public"
fi

# The loader last: wrangler dev reloads on its change, by then the wasm
# beside it is the new one.
mkdir -p "$final/public"
# What an older build left in public/ (hashed names of other contents) goes
# once the new files are in place: wrangler would upload it all.
stale=()
for f in "$final"/public/* "$final"/public/.[!.]*; do
  [ -e "$f" ] || continue
  [ -e "$out/public/${f##*/}" ] || stale+=("$f")
done
for f in "$out"/public/* "$out"/public/.[!.]* "$out/app.wasm" "$out/wasm_exec.js" "$out/runtime.mjs" \
         "$out/worker-library.mjs" "$out/worker.mjs"; do
  [ -e "$f" ] || continue
  rel="${f#"$out"/}"
  mv -f "$f" "$final/$rel"
done
rm -f ${stale[@]+"${stale[@]}"}
out="$final"

raw=$(wc -c < "$out/app.wasm")
gz=$(cat "$out/app.wasm" "$out/worker.mjs" "$out/wasm_exec.js" | gzip -6 | wc -c)
printf 'worker: build/app.wasm %d bytes raw; script %d bytes gzip (limit 3145728)\n' "$raw" "$gz"
