#!/usr/bin/env bash
# Installs the pinned wrangler (package-lock.json) into server/worker/node_modules
# unless it is there and current. Every script that runs wrangler calls this
# first, so that `npx wrangler` never fetches another version.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x node_modules/.bin/wrangler ] || [ ! -f node_modules/.package-lock.json ] ||
   [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
