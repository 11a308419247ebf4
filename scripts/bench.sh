#!/usr/bin/env bash
# `npm run bench`: installs what is missing, then measures (scripts/bench.ts) into bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-env.sh
export PATH="$PWD/node_modules/.bin:$PATH"
exec node --import tsx scripts/bench.ts "$@"
