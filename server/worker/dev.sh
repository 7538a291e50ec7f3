#!/usr/bin/env bash
# Runs the worker locally: wrangler dev (workerd) on 127.0.0.1 with a local
# D1 database, Queue and R2 bucket, kept in server/worker/.wrangler/state.
# Builds first, applies the migrations, and creates a tracker the first time.
# The admin API takes Authorization: Bearer $ADMIN_TOKEN (default "dev").
#   ADDR=127.0.0.1:8787 server/worker/dev.sh      (make worker-dev)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
addr="${ADDR:-127.0.0.1:8787}"
state="${STATE:-$here/.wrangler/state}"
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false

cd "$here"
"$here/npm.sh"
# A dev server already on this address keeps running (it reloads when
# `make worker` rebuilds); a second one would fail to bind, or take over
# its state: say so instead.
if (exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}") 2>/dev/null; then
  echo "dev.sh: something already listens on $addr (a running make worker-dev?)." >&2
  echo "        It reloads by itself after \`make worker\`; or stop it, or use another WORKER_ADDR." >&2
  exit 1
fi
"$here/build.sh"
npx wrangler d1 migrations apply DB --local --persist-to "$state"
if ! npx wrangler d1 execute DB --local --persist-to "$state" --json \
     --command "SELECT id FROM trackers LIMIT 1" | grep -q '"id"'; then
  npx wrangler d1 execute DB --local --persist-to "$state" --command \
    "INSERT INTO trackers (id, name, origins, disabled, created_at_ms) VALUES ('tk_dev', 'dev', '[]', 0, unixepoch() * 1000)"
fi
echo "trackers: $(npx wrangler d1 execute DB --local --persist-to "$state" --json \
  --command "SELECT id FROM trackers" | grep -o '"tk_[^"]*"' | tr '\n' ' ')"
echo "PutEvents: curl -H 'Content-Type: application/json' http://$addr/events -d '{\"trackingId\":\"tk_dev\",\"sessionId\":\"s1\",\"eventList\":[{\"eventType\":\"View\",\"sentAt\":'\$(date +%s)'}]}'"
echo "admin API: curl -H 'Authorization: Bearer ${ADMIN_TOKEN:-dev}' http://$addr/v1/stats"
echo "archive run (the hourly cron trigger): curl http://$addr/__scheduled"
exec npx wrangler dev --local --ip "${addr%:*}" --port "${addr##*:}" --persist-to "$state" --log-level log \
  --test-scheduled --var "ADMIN_TOKEN:${ADMIN_TOKEN:-dev}"
