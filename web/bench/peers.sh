#!/usr/bin/env bash
# peers.sh: Tracklet side by side with the established trackers, in one run.
#
# Drives ../shared/peerbench (read-only, outside the repository) against this
# checkout's bin/tracklet: copies it to a temporary folder, installs its npm
# dependencies from its lockfile, builds the peers' bundles and its counting
# collector, runs the 1000-call burst, the low-end cold visit and Lighthouse
# (mobile preset) with the SDK order rotated every round, then prints one
# Markdown table (web/bench/table.mjs). Only ratios within one run mean
# anything: the machine that runs it is usually shared.
#
# Usage: make bench-peers   (after make build), or bash web/bench/peers.sh
#
#   PEERBENCH=dir    peerbench to drive (default: ../shared/peerbench beside the checkout)
#   ROUNDS=3         interleaved rounds per bench
#   PEERS=...        peers for the low-end visit and Lighthouse
#                    (default segment,snowplow,posthog,amplitude,rudderstack-bundled)
#   BURST_PEERS=...  peers for the burst (default: PEERS without RudderStack, whose
#                    default build exhausts the renderer's memory on 1000 events)
#   BENCHES=...      which benches to run (default burst,lowend,lighthouse)
#   OUT=dir          where the raw JSON results and the table are kept
#                    (default: a new folder under ${TMPDIR:-/tmp}); keep it outside the repository
#   KEEP=1           keep the temporary peerbench copy (its path is printed)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
peerbench=${PEERBENCH:-$root/../shared/peerbench}
rounds=${ROUNDS:-3}
peers=${PEERS:-segment,snowplow,posthog,amplitude,rudderstack-bundled}
burst_peers=${BURST_PEERS:-$(tr ',' '\n' <<<"$peers" | grep -v '^rudderstack' | paste -sd, -)}
benches=${BENCHES:-burst,lowend,lighthouse}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=${OUT:-${TMPDIR:-/tmp}/tracklet-bench-$stamp}

die() { echo "bench-peers: $*" >&2; exit 1; }

# Every tool the benches need, checked up front: a missing one is a failure, never a skip.
[ -d "$peerbench" ] || die "no peerbench at $peerbench (set PEERBENCH, or put shared/ beside the checkout)"
for f in package.json package-lock.json build.mjs bench2.mjs lowend.mjs lighthouse.mjs server/main.go; do
  [ -f "$peerbench/$f" ] || die "$peerbench/$f is missing"
done
for tool in node npm go brotli gzip; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
# peerbench launches Debian's Chromium by this exact path.
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium is not installed (apt-get install chromium)"
[ -x "$root/bin/tracklet" ] || die "$root/bin/tracklet is missing: run make build first"
case "$out" in "$root"/*) die "OUT=$out is inside the repository; keep results outside it" ;; esac

work=$(mktemp -d "${TMPDIR:-/tmp}/tracklet-peerbench.XXXXXX")
if [ "${KEEP:-}" = 1 ]; then
  echo "bench-peers: keeping $work" >&2
else
  trap 'rm -rf "$work"' EXIT
fi
# shared/ is read-only and cp keeps the modes: make the copy writable, the benches write into it.
cp -r "$peerbench" "$work/peerbench"
chmod -R u+w "$work/peerbench"
cd "$work/peerbench"

echo "bench-peers: installing peerbench's dependencies (npm ci)" >&2
npm ci --no-audit --no-fund --loglevel=error >&2
node build.mjs >&2
for f in dist/*.min.js; do brotli -q 11 -k -f "$f"; gzip -9 -k -f "$f"; done
(cd server && GOFLAGS=-mod=mod go build -o ../bin/collector .)

export TRACKLET_DIR=$root
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain 2>/dev/null | grep -q . && echo "+changes" || true)

run() { # run NAME SCRIPT ARGS...: the bench's own progress lines go to stderr
  local name=$1; shift
  echo "bench-peers: $name: node $*" >&2
  node "$@" >&2
}
for b in ${benches//,/ }; do
  case $b in
    burst) run burst bench2.mjs --rounds "$rounds" --sdk "tracklet,$burst_peers" ;;
    lowend) run lowend lowend.mjs --rounds "$rounds" --sdk "none,tracklet,$peers" ;;
    lighthouse) run lighthouse lighthouse.mjs --rounds "$rounds" --sdk "none,tracklet,$peers" ;;
    *) die "unknown bench $b (want burst, lowend, lighthouse)" ;;
  esac
done

mkdir -p "$out"
shopt -s nullglob
results=(results/bench2-*.json results/lowend-*.json results/lighthouse-*.json)
[ ${#results[@]} -gt 0 ] || die "the benches wrote no results"
cp "${results[@]}" results/sizes.json "$out/"
json=()
for f in "${results[@]}"; do json+=("$out/${f#results/}"); done
node summarize2.mjs "${json[@]}" >"$out/details.md"
node "$root/web/bench/table.mjs" --commit "$commit$dirty" --rounds "$rounds" "${json[@]}" | tee "$out/table.md"
echo "bench-peers: raw results, details.md and table.md in $out" >&2
