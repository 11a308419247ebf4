#!/usr/bin/env bash
# `npm test`: installs what is missing, starts Docker, then runs the jest projects (unit, emulator
# conformance, end-to-end against the bundled action; see jest.config.js), end-to-end files side by
# side, each worker with an emulator of its own, and tsc beside them. Arguments go to jest, e.g.
# `npm test -- --selectProjects unit`, which needs no Docker and so does not start it.
set -euo pipefail
cd "$(dirname "$0")/.."

# The projects named by --selectProjects (all of them when it is not given).
selected=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --selectProjects=*) selected+=("${args[$i]#--selectProjects=}") ;;
    --selectProjects)
      while [ $((i + 1)) -lt ${#args[@]} ] && [[ "${args[$((i + 1))]}" != -* ]]; do
        i=$((i + 1))
        selected+=("${args[$i]}")
      done
      ;;
  esac
done
needs_docker=1
if [ ${#selected[@]} -gt 0 ]; then
  needs_docker=0
  for project in "${selected[@]}"; do [ "$project" = unit ] || needs_docker=1; done
fi

if [ "$needs_docker" = 1 ]; then
  bash scripts/ensure-env.sh
else
  RUNWAY_SKIP_DOCKER=1 bash scripts/ensure-env.sh
fi
export PATH="$PWD/node_modules/.bin:$PATH"
node --version

# tsc runs beside jest rather than before it: it keeps one core busy for about 15 s of CPU,
# which jest's start (emulators, workers) shares well, and jest never needed its output (swc strips
# the types). Its errors are printed after jest's summary. The script exits with jest's status, or
# with tsc's when jest passed.
tsc_log="$(mktemp)"
tsc --noEmit -p tsconfig.json >"$tsc_log" 2>&1 &
tsc_pid=$!
trap 'kill "$tsc_pid" 2>/dev/null || true; rm -f "$tsc_log"' EXIT
# Jest is a child rather than exec'd (something must wait for tsc), so the signals that stop a run
# are passed on to it; stdin is the script's, for jest's interactive modes.
node --experimental-vm-modules node_modules/jest/bin/jest.js "$@" <&0 &
jest_pid=$!
for signal in INT TERM HUP; do trap 'kill -'"$signal"' "$jest_pid" 2>/dev/null || true' "$signal"; done
# A signal ends `wait` early (status above 128) while jest is still stopping: wait for it again.
while :; do
  jest_status=0
  wait "$jest_pid" || jest_status=$?
  if [ "$jest_status" -le 128 ] || ! kill -0 "$jest_pid" 2>/dev/null; then break; fi
done

# Stopped by a signal: no need to wait for tsc (the exit trap stops it).
if [ "$jest_status" -gt 128 ]; then exit "$jest_status"; fi
tsc_status=0
wait "$tsc_pid" || tsc_status=$?
if [ "$tsc_status" -ne 0 ]; then
  cat "$tsc_log" >&2
  echo "[runway] tsc --noEmit -p tsconfig.json failed (exit $tsc_status): the type errors are above" >&2
fi
if [ "$jest_status" -ne 0 ]; then exit "$jest_status"; fi
exit "$tsc_status"
