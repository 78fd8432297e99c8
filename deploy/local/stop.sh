#!/usr/bin/env bash
# Stops what deploy/local/run.sh started: every service with a pid file under
# .local/run (SIGTERM, so each drains and shuts down gracefully), then the
# private MariaDB. Safe to run again; data under .local/ is kept.
set -euo pipefail

cd "$(dirname -- "$(realpath -- "${BASH_SOURCE[0]}")")/../.."
readonly RUN_DIR=.local/run
readonly STOP_TIMEOUT_S=30

# shellcheck source=deploy/local/service-pid.sh
source deploy/local/service-pid.sh

# Every pid file, not only services.list: a service removed from the list
# since it was started must still be stopped.
shopt -s nullglob
services=()
for pidfile in "$RUN_DIR"/*.pid; do
  svc=${pidfile##*/}
  services+=("${svc%.pid}")
done

# Signal all first, then wait: they shut down in parallel.
for svc in "${services[@]}"; do
  if pid=$(service_pid "$svc"); then
    echo "stop.sh: stopping $svc (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
  fi
done

deadline=$((SECONDS + STOP_TIMEOUT_S))
for svc in "${services[@]}"; do
  while pid=$(service_pid "$svc"); do
    if (( SECONDS >= deadline )); then
      echo "stop.sh: $svc (pid $pid) still running after ${STOP_TIMEOUT_S}s; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  if pid=$(service_pid "$svc"); then
    echo "stop.sh: $svc (pid $pid) survived SIGKILL" >&2
    exit 1
  fi
  rm -f -- "$RUN_DIR/$svc.pid"
done

bash deploy/local/mariadb.sh stop .local/mariadb
