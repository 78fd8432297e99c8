#!/usr/bin/env bash
# Runs the whole benchmark on this machine in one go: builds crm_bench,
# echo_server, crm-customers, crm-opportunities, crm-complaints,
# crm-scheduling and crm-gateway (under the shared build lock), starts a
# private MariaDB in a temporary folder, the customers, opportunities,
# complaints and scheduling services, the gateway in front of them (gRPC and
# HTTP/JSON) and the echo server on free loopback ports, runs every scenario
# (bench/README.md) and prints the Markdown report. Everything it started is
# stopped on exit.
#
#   bench/run.sh [crm_bench flags...]     e.g. --measure_seconds=20 --callers=64
#
# Environment (optional):
#   CRM_SKIP_BUILD=1      use build/ as it is
#   CRM_BENCH_KEEP=1      keep the temporary folder (logs, database) afterwards
#   CRM_BENCH_REPORT=F    also write the report to F
#   CRM_BENCH_MAX_THREADS=N  gRPC thread cap of the services and echo_server
#                         (default: the services' own default, 32)
#
# Exit status: crm_bench's (0 every target met, 1 a scenario failed,
# 3 a target was missed), or 1 if the set-up failed.
set -euo pipefail

cd "$(dirname -- "$(realpath -- "${BASH_SOURCE[0]}")")/.."
readonly REPO=$PWD
readonly BUILD_DIR=$REPO/build
readonly BUILD_LOCK=/tmp/crm-build.lock
readonly MARIADB_SH=$REPO/deploy/local/mariadb.sh
readonly SERVICE_BIN=$BUILD_DIR/services/customers/crm-customers
readonly OPPORTUNITIES_BIN=$BUILD_DIR/services/opportunities/crm-opportunities
readonly COMPLAINTS_BIN=$BUILD_DIR/services/complaints/crm-complaints
readonly SCHEDULING_BIN=$BUILD_DIR/services/scheduling/crm-scheduling
readonly GATEWAY_BIN=$BUILD_DIR/services/gateway/crm-gateway
readonly ECHO_BIN=$BUILD_DIR/bench/echo_server
readonly BENCH_BIN=$BUILD_DIR/bench/crm_bench
readonly START_TIMEOUT_S=90

die() { echo "bench/run.sh: $*" >&2; exit 1; }
say() { echo "bench/run.sh: $*" >&2; }

# ---- build ----
if [[ ${CRM_SKIP_BUILD:-0} != 1 ]]; then
  if ! flock -n "$BUILD_LOCK" true; then say "waiting for the build lock ($BUILD_LOCK)"; fi
  if [[ ! -f $BUILD_DIR/build.ninja ]]; then
    flock "$BUILD_LOCK" cmake -S "$REPO" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
  fi
  # stdout carries only the report.
  flock "$BUILD_LOCK" cmake --build "$BUILD_DIR" --target crm_bench echo_server crm-customers crm-opportunities \
    crm-complaints crm-scheduling crm-gateway -j2 >&2
fi
for program in "$SERVICE_BIN" "$OPPORTUNITIES_BIN" "$COMPLAINTS_BIN" "$SCHEDULING_BIN" "$GATEWAY_BIN" "$ECHO_BIN" \
  "$BENCH_BIN"; do
  [[ -x $program ]] || die "missing ${program#"$REPO"/}: build it first"
done

# ---- scratch folder and clean-up ----
# Short path: mariadbd's socket path must stay under 108 bytes.
TMP=$(mktemp -d /tmp/crm-bench.XXXXXX)
readonly TMP
service_pid="" opportunities_pid="" complaints_pid="" scheduling_pid="" gateway_pid="" echo_pid="" bench_pid=""
db_started=false

stop_pid() {
  local pid=$1 name=$2
  [[ -n $pid ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  say "$name (pid $pid) ignored SIGTERM for 10 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$bench_pid" crm_bench
  stop_pid "$gateway_pid" crm-gateway
  stop_pid "$scheduling_pid" crm-scheduling
  stop_pid "$complaints_pid" crm-complaints
  stop_pid "$opportunities_pid" crm-opportunities
  stop_pid "$service_pid" crm-customers
  stop_pid "$echo_pid" echo_server
  if $db_started; then bash "$MARIADB_SH" stop "$TMP/mariadb" >/dev/null || say "could not stop MariaDB"; fi
  if [[ ${CRM_BENCH_KEEP:-0} == 1 ]]; then
    say "kept $TMP"
  else
    rm -rf -- "$TMP"
  fi
  exit "$rc"
}
# A signal while crm_bench runs stops crm_bench, then the script exits;
# at any other time the script exits at once. Either way cleanup runs.
interrupted=""
on_signal() {
  interrupted=$1
  if [[ -n $bench_pid ]]; then
    kill -TERM "$bench_pid" 2>/dev/null || true
  else
    exit "$1"
  fi
}
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

# ---- database ----
db_started=true
bash "$MARIADB_SH" start "$TMP/mariadb" >&2
bash "$MARIADB_SH" provision "$TMP/mariadb" customers >&2
bash "$MARIADB_SH" provision "$TMP/mariadb" opportunities >&2
bash "$MARIADB_SH" provision "$TMP/mariadb" complaints >&2
bash "$MARIADB_SH" provision "$TMP/mariadb" scheduling >&2
# event_feed's consumer: its own database for the cursor and the effects.
bash "$MARIADB_SH" provision "$TMP/mariadb" bench_events >&2
# breach_sweep: a complaints schema of its own, seeded and swept in-process.
bash "$MARIADB_SH" provision "$TMP/mariadb" bench_complaints >&2
DB_PORT=$(sed -n 's/^MARIADB_PORT=//p' "$TMP/mariadb/env")
readonly DB_PORT
readonly DB_PASSWORD_FILE=$TMP/secrets/db-customers.password
readonly OPPORTUNITIES_DB_PASSWORD_FILE=$TMP/secrets/db-opportunities.password
readonly COMPLAINTS_DB_PASSWORD_FILE=$TMP/secrets/db-complaints.password
readonly SCHEDULING_DB_PASSWORD_FILE=$TMP/secrets/db-scheduling.password
readonly EVENTS_DB_PASSWORD_FILE=$TMP/secrets/db-bench_events.password
readonly BENCH_COMPLAINTS_DB_PASSWORD_FILE=$TMP/secrets/db-bench_complaints.password
DB_PID=$(<"$TMP/mariadb/mysqld.pid")
readonly DB_PID

# ---- keys (never printed) ----
(
  umask 077
  od -An -vtx1 -N32 /dev/urandom | tr -d ' \n' >"$TMP/secrets/jwt-hs256.key"
  od -An -vtx1 -N32 /dev/urandom | tr -d ' \n' >"$TMP/secrets/page-token.key"
)

# ---- servers on free ports ----
env CRM_LISTEN_ADDRESS=127.0.0.1:0 CRM_PORT_FILE="$TMP/customers.port" \
  CRM_DB_HOST=127.0.0.1 CRM_DB_PORT="$DB_PORT" CRM_DB_USER=crm_customers CRM_DB_NAME=crm_customers \
  CRM_DB_PASSWORD_FILE="$DB_PASSWORD_FILE" \
  CRM_JWT_HS256_KEY_FILE="$TMP/secrets/jwt-hs256.key" CRM_PAGE_TOKEN_KEY_FILE="$TMP/secrets/page-token.key" \
  CRM_JWT_ISSUER=crm-local CRM_JWT_AUDIENCE=crm \
  CRM_TIER_RECOMPUTE_HOURS=0 ${CRM_BENCH_MAX_THREADS:+CRM_MAX_THREADS=$CRM_BENCH_MAX_THREADS} \
  "$SERVICE_BIN" </dev/null >"$TMP/customers.log" 2>&1 &
service_pid=$!
"$ECHO_BIN" --listen_address=127.0.0.1:0 --port_file="$TMP/echo.port" \
  ${CRM_BENCH_MAX_THREADS:+--max_threads=$CRM_BENCH_MAX_THREADS} </dev/null >"$TMP/echo.log" 2>&1 &
echo_pid=$!

# The port file appears once the server listens (after the service's
# migrations), so it doubles as the readiness signal.
wait_port() {
  local file=$1 pid=$2 name=$3 log=$4
  local deadline=$((SECONDS + START_TIMEOUT_S))
  until [[ -s $file ]]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$log" >&2 || true
      die "$name exited during start-up"
    fi
    (( SECONDS < deadline )) || { tail -n 30 "$log" >&2 || true; die "$name not listening after ${START_TIMEOUT_S}s"; }
    sleep 0.1
  done
  cat "$file"
}
SERVICE_PORT=$(wait_port "$TMP/customers.port" "$service_pid" crm-customers "$TMP/customers.log")
readonly SERVICE_PORT
# crm-opportunities and crm-complaints call crm-customers, so they start once
# that one listens. crm-complaints' breach job sweeps once at start-up and
# then hourly (its maximum), so it stays out of the measurements.
env CRM_LISTEN_ADDRESS=127.0.0.1:0 CRM_PORT_FILE="$TMP/opportunities.port" \
  CRM_DB_HOST=127.0.0.1 CRM_DB_PORT="$DB_PORT" CRM_DB_USER=crm_opportunities CRM_DB_NAME=crm_opportunities \
  CRM_DB_PASSWORD_FILE="$OPPORTUNITIES_DB_PASSWORD_FILE" \
  CRM_JWT_HS256_KEY_FILE="$TMP/secrets/jwt-hs256.key" CRM_PAGE_TOKEN_KEY_FILE="$TMP/secrets/page-token.key" \
  CRM_JWT_ISSUER=crm-local CRM_JWT_AUDIENCE=crm CRM_CUSTOMERS_ADDRESS="127.0.0.1:$SERVICE_PORT" \
  ${CRM_BENCH_MAX_THREADS:+CRM_MAX_THREADS=$CRM_BENCH_MAX_THREADS} \
  "$OPPORTUNITIES_BIN" </dev/null >"$TMP/opportunities.log" 2>&1 &
opportunities_pid=$!
env CRM_LISTEN_ADDRESS=127.0.0.1:0 CRM_PORT_FILE="$TMP/complaints.port" \
  CRM_DB_HOST=127.0.0.1 CRM_DB_PORT="$DB_PORT" CRM_DB_USER=crm_complaints CRM_DB_NAME=crm_complaints \
  CRM_DB_PASSWORD_FILE="$COMPLAINTS_DB_PASSWORD_FILE" \
  CRM_JWT_HS256_KEY_FILE="$TMP/secrets/jwt-hs256.key" CRM_PAGE_TOKEN_KEY_FILE="$TMP/secrets/page-token.key" \
  CRM_JWT_ISSUER=crm-local CRM_JWT_AUDIENCE=crm CRM_CUSTOMERS_ADDRESS="127.0.0.1:$SERVICE_PORT" \
  CRM_BREACH_SWEEP_INTERVAL=1h ${CRM_BENCH_MAX_THREADS:+CRM_MAX_THREADS=$CRM_BENCH_MAX_THREADS} \
  "$COMPLAINTS_BIN" </dev/null >"$TMP/complaints.log" 2>&1 &
complaints_pid=$!
# crm-scheduling looks customers up in crm-customers. It does not follow the
# other services' event feeds here (CRM_FOLLOW_EVENTS=false): its consumers
# would add their work to every other scenario's measurement, and none of
# the scheduling scenarios reads what they project.
env CRM_LISTEN_ADDRESS=127.0.0.1:0 CRM_PORT_FILE="$TMP/scheduling.port" \
  CRM_DB_HOST=127.0.0.1 CRM_DB_PORT="$DB_PORT" CRM_DB_USER=crm_scheduling CRM_DB_NAME=crm_scheduling \
  CRM_DB_PASSWORD_FILE="$SCHEDULING_DB_PASSWORD_FILE" \
  CRM_JWT_HS256_KEY_FILE="$TMP/secrets/jwt-hs256.key" CRM_PAGE_TOKEN_KEY_FILE="$TMP/secrets/page-token.key" \
  CRM_JWT_ISSUER=crm-local CRM_JWT_AUDIENCE=crm CRM_CUSTOMERS_ADDRESS="127.0.0.1:$SERVICE_PORT" \
  CRM_FOLLOW_EVENTS=false ${CRM_BENCH_MAX_THREADS:+CRM_MAX_THREADS=$CRM_BENCH_MAX_THREADS} \
  "$SCHEDULING_BIN" </dev/null >"$TMP/scheduling.log" 2>&1 &
scheduling_pid=$!
OPPORTUNITIES_PORT=$(wait_port "$TMP/opportunities.port" "$opportunities_pid" crm-opportunities "$TMP/opportunities.log")
readonly OPPORTUNITIES_PORT
COMPLAINTS_PORT=$(wait_port "$TMP/complaints.port" "$complaints_pid" crm-complaints "$TMP/complaints.log")
readonly COMPLAINTS_PORT
SCHEDULING_PORT=$(wait_port "$TMP/scheduling.port" "$scheduling_pid" crm-scheduling "$TMP/scheduling.log")
readonly SCHEDULING_PORT
ECHO_PORT=$(wait_port "$TMP/echo.port" "$echo_pid" echo_server "$TMP/echo.log")
readonly ECHO_PORT
# crm-gateway, once the four services listen: database-less, the same token
# settings, its gRPC front on a free port (port file) and its HTTP/JSON front
# on another (port 0: the kernel picks a free one; the gateway logs it). Its
# per-principal rate limit (200/s by default) would cap the bench's one
# ADMIN principal, so it is lifted; everything else is the default.
env CRM_LISTEN_ADDRESS=127.0.0.1:0 CRM_PORT_FILE="$TMP/gateway.port" CRM_HTTP_LISTEN_ADDRESS=127.0.0.1:0 \
  CRM_JWT_HS256_KEY_FILE="$TMP/secrets/jwt-hs256.key" CRM_PAGE_TOKEN_KEY_FILE="$TMP/secrets/page-token.key" \
  CRM_JWT_ISSUER=crm-local CRM_JWT_AUDIENCE=crm \
  CRM_CUSTOMERS_ADDRESS="127.0.0.1:$SERVICE_PORT" CRM_OPPORTUNITIES_ADDRESS="127.0.0.1:$OPPORTUNITIES_PORT" \
  CRM_COMPLAINTS_ADDRESS="127.0.0.1:$COMPLAINTS_PORT" CRM_SCHEDULING_ADDRESS="127.0.0.1:$SCHEDULING_PORT" \
  CRM_RATE_LIMIT_PER_SECOND=1000000 CRM_RATE_LIMIT_BURST=10000000 \
  ${CRM_BENCH_MAX_THREADS:+CRM_MAX_THREADS=$CRM_BENCH_MAX_THREADS} \
  "$GATEWAY_BIN" </dev/null >"$TMP/gateway.log" 2>&1 &
gateway_pid=$!
GATEWAY_PORT=$(wait_port "$TMP/gateway.port" "$gateway_pid" crm-gateway "$TMP/gateway.log")
readonly GATEWAY_PORT
# The HTTP front starts right after the gRPC one: its port from the log line
# {"msg":"HTTP front listening","port":"N"}.
gateway_http_port() {
  sed -n 's/.*"msg":"HTTP front listening".*"port":"\([0-9]*\)".*/\1/p' "$TMP/gateway.log" | head -n 1
}
deadline=$((SECONDS + START_TIMEOUT_S))
until [[ -n $(gateway_http_port) ]]; do
  if ! kill -0 "$gateway_pid" 2>/dev/null; then
    tail -n 30 "$TMP/gateway.log" >&2 || true
    die "crm-gateway exited during start-up"
  fi
  (( SECONDS < deadline )) || { tail -n 30 "$TMP/gateway.log" >&2 || true; die "crm-gateway's HTTP front not listening after ${START_TIMEOUT_S}s"; }
  sleep 0.1
done
GATEWAY_HTTP_PORT=$(gateway_http_port)
readonly GATEWAY_HTTP_PORT
say "crm-customers pid $service_pid on 127.0.0.1:$SERVICE_PORT, crm-opportunities pid $opportunities_pid on 127.0.0.1:$OPPORTUNITIES_PORT, crm-complaints pid $complaints_pid on 127.0.0.1:$COMPLAINTS_PORT, crm-scheduling pid $scheduling_pid on 127.0.0.1:$SCHEDULING_PORT, crm-gateway pid $gateway_pid on 127.0.0.1:$GATEWAY_PORT (HTTP 127.0.0.1:$GATEWAY_HTTP_PORT), echo_server pid $echo_pid on 127.0.0.1:$ECHO_PORT, MariaDB on 127.0.0.1:$DB_PORT"

# ---- run ----
{
  echo "Command: \`${CRM_BENCH_MAX_THREADS:+CRM_BENCH_MAX_THREADS=$CRM_BENCH_MAX_THREADS }bench/run.sh${*:+ $*}\`"
  echo
  echo "Machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, Linux $(uname -r), MariaDB $(mariadbd --version | sed -n 's/.*Ver \([^ ]*\).*/\1/p'); commit $(git -C "$REPO" rev-parse --short HEAD)$(git -C "$REPO" diff --quiet HEAD -- bench services common proto 2>/dev/null || echo ' (with uncommitted changes)'); $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo
} >"$TMP/report.md"

# In the background so a signal to this script is handled at once (bash
# runs traps only between foreground commands, but interrupts `wait`).
"$BENCH_BIN" \
  --customers_address="127.0.0.1:$SERVICE_PORT" --echo_address="127.0.0.1:$ECHO_PORT" \
  --service_pid="$service_pid" --echo_pid="$echo_pid" --mariadb_pid="$DB_PID" \
  --jwt_hs256_key_file="$TMP/secrets/jwt-hs256.key" \
  --db_host=127.0.0.1 --db_port="$DB_PORT" --db_user=crm_customers --db_name=crm_customers \
  --db_password_file="$DB_PASSWORD_FILE" \
  --opportunities_address="127.0.0.1:$OPPORTUNITIES_PORT" --opportunities_pid="$opportunities_pid" \
  --events_db_name=crm_bench_events --events_db_user=crm_bench_events \
  --events_db_password_file="$EVENTS_DB_PASSWORD_FILE" \
  --complaints_address="127.0.0.1:$COMPLAINTS_PORT" --complaints_pid="$complaints_pid" \
  --complaints_db_name=crm_bench_complaints --complaints_db_user=crm_bench_complaints \
  --complaints_db_password_file="$BENCH_COMPLAINTS_DB_PASSWORD_FILE" \
  --scheduling_address="127.0.0.1:$SCHEDULING_PORT" --scheduling_pid="$scheduling_pid" \
  --scheduling_db_name=crm_scheduling --scheduling_db_user=crm_scheduling \
  --scheduling_db_password_file="$SCHEDULING_DB_PASSWORD_FILE" \
  --gateway_address="127.0.0.1:$GATEWAY_PORT" --gateway_http_address="127.0.0.1:$GATEWAY_HTTP_PORT" \
  --gateway_pid="$gateway_pid" \
  "$@" >>"$TMP/report.md" &
bench_pid=$!
rc=0
while kill -0 "$bench_pid" 2>/dev/null; do
  rc=0
  wait "$bench_pid" || rc=$?
done
if [[ -n $interrupted ]]; then
  say "interrupted; stopping everything"
  exit "$interrupted"
fi

kill -0 "$service_pid" 2>/dev/null || say "crm-customers died during the run (log: $TMP/customers.log)"
kill -0 "$opportunities_pid" 2>/dev/null || say "crm-opportunities died during the run (log: $TMP/opportunities.log)"
kill -0 "$complaints_pid" 2>/dev/null || say "crm-complaints died during the run (log: $TMP/complaints.log)"
kill -0 "$scheduling_pid" 2>/dev/null || say "crm-scheduling died during the run (log: $TMP/scheduling.log)"
kill -0 "$gateway_pid" 2>/dev/null || say "crm-gateway died during the run (log: $TMP/gateway.log)"
for name in customers opportunities complaints scheduling gateway; do
  problems=$(grep -cE '"level":"(warning|error)"' "$TMP/$name.log" || true)
  if (( problems > 0 )); then
    say "crm-$name logged $problems warnings/errors; the last ones:"
    grep -E '"level":"(warning|error)"' "$TMP/$name.log" | tail -n 5 >&2
  fi
done

cat "$TMP/report.md"
if [[ -n ${CRM_BENCH_REPORT:-} ]]; then cp -- "$TMP/report.md" "$CRM_BENCH_REPORT"; fi
exit "$rc"
