#!/usr/bin/env bash
# `npm run emulator -- --env-file PATH`. Node treats `--env-file` anywhere on its command line as
# its own option (and fails when the file does not exist yet), so the path travels to the emulator
# in RUNWAY_EMULATOR_ENV_OUT instead.
set -euo pipefail
cd "$(dirname "$0")/.."
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --env-file) out="${2:-}"; shift 2 ;;
    --env-file=*) out="${1#--env-file=}"; shift ;;
    *) echo "usage: npm run emulator -- --env-file PATH" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || { echo "usage: npm run emulator -- --env-file PATH" >&2; exit 2; }
export PATH="$PWD/node_modules/.bin:$PATH"
RUNWAY_EMULATOR_ENV_OUT="$(realpath -m "$out")" exec node --import tsx emulator/main.ts
