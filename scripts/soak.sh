#!/usr/bin/env bash
# Soak: runs the healthy canary (traffic_steps, max_error_rate 0) and the zero-downtime tests RUNS
# times (default 30), each run a jest process with its own emulator, while another jest process
# runs other end-to-end files beside them over and over against an emulator of its own (containers
# starting and stopping, routers re-pointed, two CPUs' worth of contention). After each run it
# counts, from each action's own log, every probe of a healthy revision that failed, and from the
# load generators every request that failed. A sound build has zero of both, in every run.
#
#   npm run soak [-- RUNS]     (or bash scripts/soak.sh [RUNS])
#   SOAK_BESIDE="files"        the e2e files run beside (default: rollout, deploy, safety, preview)
#   SOAK_DIR=DIR               where the logs go (default: a new /tmp/runway-soak-XXXXXX)
#
# It tests dist/ as it is: run `npm run bundle` first after changing src/.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-30}"
beside="${SOAK_BESIDE:-__tests__/e2e/rollout.test.ts __tests__/e2e/deploy.test.ts __tests__/e2e/safety.test.ts __tests__/e2e/preview.test.ts}"
dir="${SOAK_DIR:-$(mktemp -d /tmp/runway-soak-XXXXXX)}"
mkdir -p "$dir"

bash scripts/ensure-env.sh
export PATH="$PWD/node_modules/.bin:$PATH"
tsc --noEmit -p tsconfig.json
jest=(node --experimental-vm-modules node_modules/jest/bin/jest.js --runInBand)

# The work beside, in a process group of its own so that it stops whole (its emulator removes its
# containers on SIGTERM).
# shellcheck disable=SC2086
setsid bash -c 'while :; do "$@" || true; done' beside "${jest[@]}" $beside >"$dir/beside.log" 2>&1 &
beside=$!
trap 'kill -TERM -- "-$beside" 2>/dev/null || true' EXIT

echo "soak: $runs runs; logs in $dir; beside: $beside"
printf '%-5s %-7s %10s %8s %8s %9s %s\n' run jest requests failed probes failed 'failed probes (healthy revisions)'
total_failed_requests=0 total_failed_probes=0 failed_runs=0
for i in $(seq 1 "$runs"); do
  logs="$dir/run-$i"
  mkdir -p "$logs"
  verdict=passed
  RUNWAY_TEST_ACTION_LOGS="$logs" "${jest[@]}" __tests__/e2e/steps.test.ts __tests__/e2e/zero-downtime.test.ts \
    -t 'moves the new revision through each step|no request fails while Runway works' >"$logs/jest.log" 2>&1 ||
    verdict=FAILED
  # "canary sequence: 459 requests, 0 failed; ..." from each load generator.
  read -r sent failed < <(awk '/: [0-9]+ requests, [0-9]+ failed/ {
      for (f = 1; f <= NF; f++) { if ($(f + 1) ~ /^requests,/) s += $f; if ($(f + 1) ~ /^failed/) x += $f } }
    END { print s + 0, x + 0 }' "$logs/jest.log")
  # Healthy revisions only: the rollback test's candidate fails its checks on purpose.
  healthy=("$logs/e2e-steps-ok.log" "$logs/e2e-zero-ok.log")
  # Step probes ("  30%: 3 probes, 0.0% failed, p95 9 ms → passed") and health-check probes
  # ("  /health → HTTP 200 (pass 1/2)" or "... (fail)").
  read -r probes probes_failed < <(cat "${healthy[@]}" 2>/dev/null | awk '
    /[0-9]+%: [0-9]+ probes, [0-9.]+% failed/ {
      for (f = 1; f <= NF; f++) if ($(f + 1) ~ /^probes,/) { n = $f; p = $(f + 2); sub(/%/, "", p) }
      all += n; bad += int(n * p / 100 + 0.5) }
    /→ .*\((pass [0-9]+\/[0-9]+|fail)\)$/ { all++; if (/\(fail\)$/) bad++ }
    END { print all + 0, bad + 0 }')
  what=$(cat "${healthy[@]}" 2>/dev/null | grep -E '\(fail\)$|[0-9]+%: [0-9]+ probes, [1-9][0-9.]*% failed|failed probe' |
    sed 's/^ *//' | sort | uniq -c | sed 's/^ *//' | paste -sd ';' || true)
  printf '%-5s %-7s %10s %8s %8s %9s %s\n' "$i" "$verdict" "$sent" "$failed" "$probes" "$probes_failed" "${what:--}"
  total_failed_requests=$((total_failed_requests + failed))
  total_failed_probes=$((total_failed_probes + probes_failed))
  [ "$verdict" = passed ] || failed_runs=$((failed_runs + 1))
done
echo "soak: $runs runs, $failed_runs failed; $total_failed_probes failed probes of healthy revisions; $total_failed_requests failed requests"
[ "$failed_runs" -eq 0 ] && [ "$total_failed_probes" -eq 0 ] && [ "$total_failed_requests" -eq 0 ]
