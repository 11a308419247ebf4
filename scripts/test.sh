#!/usr/bin/env bash
# `npm test`: installs what is missing, starts Docker, type-checks, then runs the jest projects
# (unit, emulator conformance, end-to-end against the bundled action; see jest.config.js), end-to-end
# files side by side, each worker with an emulator of its own. Arguments go to jest, e.g.
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
tsc --noEmit -p tsconfig.json
exec node --experimental-vm-modules node_modules/jest/bin/jest.js "$@"
