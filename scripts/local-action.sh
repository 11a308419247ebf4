#!/usr/bin/env bash
# `npm run local-action -- --env-file EMULATOR_ENV [--inputs FILE] [--dir DIR]`: runs the action's
# TypeScript (src/main.ts, no bundle) under @github/local-action against a running emulator, for
# stepping through it in a debugger. Start the emulator first: npm run emulator -- --env-file FILE.
#
# local-action cannot mint GitHub OIDC tokens (its core.getIDToken stub throws "Not implemented"),
# so Runway authenticates here the way it does after google-github-actions/auth: with Application
# Default Credentials, an external_account file whose endpoints are the emulator's OIDC issuer, STS
# and IAM Credentials, impersonating the emulator's deployer. The inputs default to a deploy of
# examples/hello; the --inputs file (INPUT_NAME=value lines) adds to or overrides them.
#
# Everything is written to DIR (default .runway/local-action/): action.env, credentials.json, the job
# summary (summary.md), RUNNER_TEMP and the log. local-action exits 0 even when the action fails, so
# this script fails when the log has an ::error:: line.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: npm run local-action -- --env-file EMULATOR_ENV [--inputs FILE] [--dir DIR]" >&2
  exit 2
}
emulator_env="" inputs="" dir=".runway/local-action"
while [ $# -gt 0 ]; do
  case "$1" in
    --env-file) emulator_env="${2:-}"; shift 2 ;;
    --inputs) inputs="${2:-}"; shift 2 ;;
    --dir) dir="${2:-}"; shift 2 ;;
    *) usage ;;
  esac
done
[ -f "$emulator_env" ] || usage
[ -z "$inputs" ] || [ -f "$inputs" ] || usage
export PATH="$PWD/node_modules/.bin:$PATH"

# In the process environment, not only in action.env: local-action's @actions/github stub reads
# GITHUB_API_URL when it loads, before it reads action.env, and would otherwise call github.com.
set -a
# shellcheck disable=SC1090
. "$emulator_env"
set +a

mkdir -p "$dir/runner-temp"
dir="$(cd "$dir" && pwd)"
: > "$dir/summary.md"
[ -f examples/hello/busybox ] || cp /bin/busybox examples/hello/busybox

umask 077
node -e '
const e = process.env;
const provider = e.RUNWAY_EMULATOR_WIF_PROVIDER;
const audience = encodeURIComponent(`https://iam.googleapis.com/${provider}`);
console.log(JSON.stringify({
  type: "external_account",
  audience: `//iam.googleapis.com/${provider}`,
  subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
  token_url: `${e.CLOUDSDK_API_ENDPOINT_OVERRIDES_STS}v1/token`,
  credential_source: {
    url: `${e.ACTIONS_ID_TOKEN_REQUEST_URL}&audience=${audience}`,
    headers: { Authorization: `Bearer ${e.ACTIONS_ID_TOKEN_REQUEST_TOKEN}` },
    format: { type: "json", subject_token_field_name: "value" },
  },
  service_account_impersonation_url: `${e.CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS}v1/projects/-/serviceAccounts/${e.RUNWAY_EMULATOR_SERVICE_ACCOUNT}:generateAccessToken`,
}, null, 2));
' > "$dir/credentials.json"

{
  cat "$emulator_env"
  echo "GOOGLE_APPLICATION_CREDENTIALS=$dir/credentials.json"
  echo "GOOGLE_CLOUD_PROJECT=$RUNWAY_EMULATOR_PROJECT"
  echo "GITHUB_STEP_SUMMARY=$dir/summary.md"
  echo "GITHUB_WORKSPACE=$PWD"
  echo "RUNNER_TEMP=$dir/runner-temp"
  # local-action passes action.yml's default `${{ github.token }}` through unevaluated.
  echo "INPUT_GITHUB_TOKEN=$GITHUB_TOKEN"
  echo "INPUT_SERVICE=hello"
  echo "INPUT_PROJECT_ID=$RUNWAY_EMULATOR_PROJECT"
  echo "INPUT_CONTEXT=examples/hello"
  echo "INPUT_REPOSITORY=$RUNWAY_EMULATOR_REPOSITORY"
  echo "INPUT_ALLOW_UNAUTHENTICATED=true"
  if [ -n "$inputs" ]; then cat "$inputs"; fi
} > "$dir/action.env"

status=0
local-action run . src/main.ts "$dir/action.env" 2>&1 | tee "$dir/log" || status=$?
if [ "$status" -ne 0 ] || grep -q '^::error::' "$dir/log"; then
  echo "local-action: the action failed (see $dir/log)" >&2
  exit 1
fi
