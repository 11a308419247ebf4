#!/usr/bin/env bash
# Bundles src/ into dist/ (or the folder given): see scripts/bundle.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node_modules/.bin/tsx scripts/bundle.ts "$@"
