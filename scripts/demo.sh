#!/usr/bin/env bash
# `npm run demo`: a full deploy against the local emulator, exactly as a workflow step runs it —
# inputs as INPUT_* variables, outputs to $GITHUB_OUTPUT — then fetch the deployed URL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-env.sh
export PATH="$PWD/node_modules/.bin:$PATH"

work="$(mktemp -d)"
emulator_pid=""
cleanup() {
  if [ -n "$emulator_pid" ] && kill -0 "$emulator_pid" 2>/dev/null; then
    kill -TERM "$emulator_pid"
    wait "$emulator_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== starting the emulator"
bash scripts/emulator.sh --env-file "$work/emulator.env" > "$work/emulator.log" 2>&1 &
emulator_pid=$!
for _ in $(seq 1 120); do
  [ -f "$work/emulator.env" ] && break
  kill -0 "$emulator_pid" 2>/dev/null || { cat "$work/emulator.log"; exit 1; }
  sleep 0.5
done
[ -f "$work/emulator.env" ] || { echo "emulator did not start"; cat "$work/emulator.log"; exit 1; }

cp /bin/busybox examples/hello/busybox

echo "== running the action (dist/index.js)"
set -a; . "$work/emulator.env"; set +a
export GITHUB_OUTPUT="$work/output" GITHUB_STEP_SUMMARY="$work/summary" RUNNER_TEMP="$work"
: > "$GITHUB_OUTPUT"
env \
  INPUT_SERVICE=hello \
  INPUT_REGION=us-central1 \
  INPUT_PROJECT_ID="$RUNWAY_EMULATOR_PROJECT" \
  INPUT_WORKLOAD_IDENTITY_PROVIDER="$RUNWAY_EMULATOR_WIF_PROVIDER" \
  INPUT_SERVICE_ACCOUNT="$RUNWAY_EMULATOR_SERVICE_ACCOUNT" \
  INPUT_CONTEXT=examples/hello \
  INPUT_REPOSITORY="$RUNWAY_EMULATOR_REPOSITORY" \
  INPUT_ALLOW_UNAUTHENTICATED=true \
  INPUT_ENV_VARS="GREETING=hello" \
  node dist/index.js

echo "== outputs"
node -e '
const text = require("fs").readFileSync(process.argv[1], "utf8");
const out = {}; const re = /^(\w+)<<(\S+)\n([\s\S]*?)\n\2$/gm; let m;
while ((m = re.exec(text))) out[m[1]] = m[3];
for (const [k, v] of Object.entries(out)) console.log(`${k}=${v}`);
if (!out.url || !out.revision) { console.error("missing url or revision output"); process.exit(1); }
require("fs").writeFileSync(process.argv[2], out.url);
' "$GITHUB_OUTPUT" "$work/url"

url="$(cat "$work/url")"
echo "== GET $url"
curl -fsS "$url/"
echo "== the demo deployed, served, and is now stopping the emulator"
