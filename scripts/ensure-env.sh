#!/usr/bin/env bash
# Installs and starts what the tests and the demo need, on a fresh machine or an old one:
# npm packages (Node 24 comes from the node@24 devDependency), Docker engine, the registry and a
# static busybox (from Debian's packages), and a running Docker engine. RUNWAY_SKIP_DOCKER=1 stops
# after the npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[runway] %s\n' "$*"; }

if [ ! -x node_modules/.bin/node ] || [ ! -x node_modules/.bin/jest ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages"
  # The lockfile records every platform's optional binaries, so a clean install is exact.
  npm ci --no-audit --no-fund
fi

# `npm test -- --selectProjects unit` needs neither Docker nor the registry (scripts/test.sh).
[ "${RUNWAY_SKIP_DOCKER:-0}" = 1 ] && exit 0

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
[ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
[ -x /bin/busybox ] || missing+=(busybox-static)
# The emulator's proxy answers gcloud's https://storage.googleapis.com with a certificate openssl makes.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { log "need root (or sudo) to apt-get install ${missing[*]}"; exit 1; }
    sudo="sudo"
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The Debian docker-registry package starts its own htpasswd-protected service; Runway runs its own.
systemctl disable --now docker-registry >/dev/null 2>&1 || true

# Bounded: a dockerd that runs but no longer answers (Docker 20.10's network controller can wedge
# after many containers are removed at once) would otherwise hang the run here with no word.
docker_answers() { timeout 30 docker info >/dev/null 2>&1; }
if ! docker_answers; then
  if pgrep -x dockerd >/dev/null 2>&1; then
    log "the Docker engine is running but does not answer 'docker info' within 30 s; restart it (stop dockerd, then run this again) and see /var/log/runway-dockerd.log"
    exit 1
  fi
  log "starting the Docker engine"
  mkdir -p /var/log
  # A session of its own: a Ctrl-C (or a kill of the run's process group) stops the run, not the engine.
  nohup setsid dockerd --storage-driver=vfs >/var/log/runway-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker_answers && break
    sleep 1
  done
  docker_answers || { log "the Docker engine did not start; see /var/log/runway-dockerd.log"; tail -20 /var/log/runway-dockerd.log; exit 1; }
fi
