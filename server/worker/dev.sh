#!/usr/bin/env bash
# Runs the worker locally: wrangler dev (workerd) on 127.0.0.1 with a local
# D1 database and a local Queue, kept in server/worker/.wrangler/state.
# Builds first, applies the migrations, and creates a tracker the first time.
# The admin API takes Authorization: Bearer $ADMIN_TOKEN (default "dev").
#   ADDR=127.0.0.1:8787 server/worker/dev.sh      (make worker-dev)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
addr="${ADDR:-127.0.0.1:8787}"
state="${STATE:-$here/.wrangler/state}"
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false

cd "$here"
[ -x node_modules/.bin/wrangler ] || npm ci --no-audit --no-fund
"$here/build.sh"
npx wrangler d1 migrations apply DB --local --persist-to "$state"
if ! npx wrangler d1 execute DB --local --persist-to "$state" --json \
     --command "SELECT id FROM trackers LIMIT 1" | grep -q '"id"'; then
  npx wrangler d1 execute DB --local --persist-to "$state" --command \
    "INSERT INTO trackers (id, name, origins, disabled, created_at_ms) VALUES ('tk_dev', 'dev', '[]', 0, unixepoch() * 1000)"
fi
echo "trackers: $(npx wrangler d1 execute DB --local --persist-to "$state" --json \
  --command "SELECT id FROM trackers" | grep -o '"tk_[^"]*"' | tr '\n' ' ')"
echo "admin API: curl -H 'Authorization: Bearer ${ADMIN_TOKEN:-dev}' http://$addr/v1/stats"
exec npx wrangler dev --local --ip "${addr%:*}" --port "${addr##*:}" --persist-to "$state" --log-level log \
  --var "ADMIN_TOKEN:${ADMIN_TOKEN:-dev}"
