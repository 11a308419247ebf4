#!/usr/bin/env bash
# Bundles src/index.ts and its dependencies into dist/ (committed; CI checks it is fresh), with
# source maps (`NODE_OPTIONS=--enable-source-maps` maps a stack trace to src/), and writes
# dist/licenses.txt from the packages those maps show the bundle holds.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist}"
export PATH="$PWD/node_modules/.bin:$PATH"
rm -rf "$out"
# No source-map-support register: Node maps stack traces itself when asked, and loading the
# register on every run would cost start-up time for the rare crash. No cache: ncc's webpack cache
# (~/.cache/ncc, keyed by the working directory) once gave a fresh clone at a reused path the
# chunks of an older tree, without their maps, and a warm cache bundles no faster (10 s both ways).
ncc build src/index.ts --out "$out" --source-map --no-source-map-register --no-cache --quiet
# The post step (removes the registry login even when the job is cancelled) is its own bundle.
ncc build src/post.ts --out "$out/post" --source-map --no-source-map-register --no-cache --quiet
node --import tsx scripts/licenses.ts "$out"
