#!/usr/bin/env bash
# `npm test`: installs what is missing, starts Docker, type-checks, then runs every jest suite
# (unit, emulator conformance, end-to-end against the bundled action) in one process.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-env.sh
export PATH="$PWD/node_modules/.bin:$PATH"
node --version
tsc --noEmit -p tsconfig.json
exec node --experimental-vm-modules node_modules/jest/bin/jest.js --runInBand "$@"
