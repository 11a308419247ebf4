#!/usr/bin/env bash
# Bundles src/index.ts and its dependencies into dist/ (committed; CI checks it is fresh).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist}"
export PATH="$PWD/node_modules/.bin:$PATH"
rm -rf "$out"
ncc build src/index.ts --out "$out" --license licenses.txt --quiet
# The post step (removes the registry login even when the job is cancelled) is its own bundle.
ncc build src/post.ts --out "$out/post" --quiet
