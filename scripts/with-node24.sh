#!/usr/bin/env bash
# Runs a command with the project's Node 24 (node@24 devDependency) first on PATH.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export PATH="$root/node_modules/.bin:$PATH"
exec "$@"
