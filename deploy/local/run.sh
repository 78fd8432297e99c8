#!/usr/bin/env bash
# README command 1, "run the suite": build, start a private MariaDB and every
# service in deploy/local/services.list on loopback, wait until each is
# healthy, load the demo data once, print how to use it. Safe to run again:
# services already running are left alone. Stop with deploy/local/stop.sh.
#
# Environment (all optional; see deploy/README.md):
#   CRM_<SVC>_PORT          gRPC port of a service (default table below)
#   CRM_GATEWAY_HTTP_PORT   HTTP port of the gateway (8080)
#   CRM_DB_HOST, CRM_DB_PORT, CRM_DB_USER, CRM_DB_NAME, CRM_DB_PASSWORD_FILE
#                           use this MySQL instead of the private MariaDB
#   CRM_DB_PASSWORD         external database only, when CRM_DB_PASSWORD_FILE is
#                           unset: the services read it from the environment they
#                           inherit (it is never put on a command line)
#   CRM_SKIP_BUILD=1        use build/ as it is
#   CRM_DEMO_DATA=0         do not load the demo data
#   CRM_TLS=1               TLS on every listener (gRPC and the gateway's HTTPS) and
#                           mutual TLS between the gateway and the services, with
#                           certificates from dev-certs.sh in .local/tls
set -euo pipefail

# A relative password file path means relative to the caller's directory.
if [[ -n ${CRM_DB_PASSWORD_FILE:-} ]]; then
  CRM_DB_PASSWORD_FILE=$(realpath -m -- "$CRM_DB_PASSWORD_FILE")
fi
cd "$(dirname -- "$(realpath -- "${BASH_SOURCE[0]}")")/../.."
readonly REPO=$PWD
readonly LOCAL=$REPO/.local
readonly SECRETS=$LOCAL/secrets RUN_DIR=$LOCAL/run LOG_DIR=$LOCAL/logs
readonly MARIADB_ROOT=$LOCAL/mariadb
readonly MARIADB_SH=$REPO/deploy/local/mariadb.sh
readonly BIN_DIR=$REPO/build/services
readonly CRMCTL=$BIN_DIR/crmctl/crmctl
readonly JWT_KEY_FILE=$SECRETS/jwt-hs256.key
# Key rotation: a key moved here stays valid (tokens signed with it still
# pass) until the file is deleted and the services restarted.
readonly JWT_PREVIOUS_KEY_FILE=$SECRETS/jwt-hs256.previous.key
readonly PAGE_TOKEN_KEY_FILE=$SECRETS/page-token.key
readonly HEALTH_TIMEOUT_S=60
readonly TLS_DIR=$LOCAL/tls
[[ ${CRM_TLS:-0} == 1 ]] && readonly TLS=true || readonly TLS=false

declare -rA DEFAULT_PORTS=(
  [gateway]=50050 [customers]=50051 [opportunities]=50052
  [complaints]=50053 [scheduling]=50054
)
readonly DEFAULT_GATEWAY_HTTP_PORT=8080
# Services that own no database (nothing to provision, no --db_* flags).
readonly -a DATABASE_LESS=(gateway)

die() { echo "run.sh: $*" >&2; exit 1; }

mapfile -t SERVICES < <(grep -Ev '^[[:space:]]*(#|$)' deploy/local/services.list)
(( ${#SERVICES[@]} > 0 )) || die "deploy/local/services.list names no service"

port_of() {
  local var="CRM_${1^^}_PORT"
  local port=${!var:-${DEFAULT_PORTS[$1]:-}}
  [[ $port =~ ^[0-9]+$ ]] || die "no port for service '$1': set $var"
  echo "$port"
}

binary_of() { echo "$BIN_DIR/$1/crm-$1"; }

port_in_use() { [[ -n $(ss -Hltn "sport = :$1") ]]; }

# shellcheck source=deploy/local/service-pid.sh
source deploy/local/service-pid.sh

# Byte offset of each service's log where this run started it, so a failure
# shows this start's lines only.
declare -A LOG_OFFSET=()

log_tail() {
  local log=$LOG_DIR/$1.log
  echo "---- last lines of ${log#"$REPO"/} ----" >&2
  tail -c +"$((${LOG_OFFSET[$1]:-0} + 1))" -- "$log" | tail -n 40 >&2 || true
  echo "----" >&2
}

# 32 random bytes as hex, written once; never printed.
make_secret() {
  [[ -s $1 ]] && return 0
  (umask 077; od -An -vtx1 -N32 /dev/urandom | tr -d ' \n' >"$1.tmp"; mv -f -- "$1.tmp" "$1")
}

# ---- build and check the programs exist ----
if [[ ${CRM_SKIP_BUILD:-0} != 1 ]]; then
  bash deploy/local/build.sh
fi
programs=("$CRMCTL")
for svc in "${SERVICES[@]}"; do programs+=("$(binary_of "$svc")"); done
for program in "${programs[@]}"; do
  [[ -x $program ]] || die "missing ${program#"$REPO"/}: the build did not produce it (is it wired into CMake?)"
done

mkdir -p -- "$RUN_DIR" "$LOG_DIR" "$SECRETS"
chmod 700 -- "$SECRETS"
make_secret "$JWT_KEY_FILE"
jwt_previous=
if [[ -e $JWT_PREVIOUS_KEY_FILE ]]; then jwt_previous=$JWT_PREVIOUS_KEY_FILE; fi
readonly jwt_previous
make_secret "$PAGE_TOKEN_KEY_FILE"
if $TLS; then
  bash deploy/local/dev-certs.sh "$TLS_DIR"
  # crmctl (health checks here, demo-data.sh) reads these: it calls the
  # services directly, which require a client certificate.
  export CRM_TLS_CA_FILE=$TLS_DIR/ca.crt
  export CRM_TLS_CLIENT_CERT_FILE=$TLS_DIR/crmctl.crt CRM_TLS_CLIENT_KEY_FILE=$TLS_DIR/crmctl.key
fi

# ---- database ----
if [[ -n ${CRM_DB_HOST:-} ]]; then
  # An external MariaDB: the caller created the databases and users.
  readonly EXTERNAL_DB=true
  DB_HOST=$CRM_DB_HOST
  DB_PORT=${CRM_DB_PORT:-3306}
  [[ $DB_PORT =~ ^[0-9]+$ ]] || die "CRM_DB_PORT must be a number: $DB_PORT"
  echo "run.sh: using the external database at $DB_HOST:$DB_PORT"
else
  readonly EXTERNAL_DB=false
  bash "$MARIADB_SH" start "$MARIADB_ROOT"
  DB_HOST=127.0.0.1
  DB_PORT=$(sed -n 's/^MARIADB_PORT=//p' "$MARIADB_ROOT/env")
fi

# Every service learns every peer's address (the gateway and cross-service
# calls need them).
peer_env=()
for svc in "${SERVICES[@]}"; do
  port=$(port_of "$svc")
  peer_env+=("CRM_${svc^^}_ADDRESS=127.0.0.1:$port")
done

start_service() {
  local svc=$1 port pid db_user db_name password_file
  port=$(port_of "$svc")

  local -a db_env=()
  if [[ " ${DATABASE_LESS[*]} " == *" $svc "* ]]; then
    :
  elif $EXTERNAL_DB; then
    db_user=${CRM_DB_USER:-crm_$svc}
    db_name=${CRM_DB_NAME:-crm_$svc}
    if [[ -z ${CRM_DB_PASSWORD_FILE:-} && -n ${CRM_DB_PASSWORD:-} ]]; then
      # No file: the service reads CRM_DB_PASSWORD from the environment it
      # inherits from this script (never from a command line).
      password_file=
    else
      password_file=$(realpath -m -- "${CRM_DB_PASSWORD_FILE:-$SECRETS/db-$svc.password}")
      [[ -r $password_file ]] ||
        die "$svc: database password file $password_file is not readable (set CRM_DB_PASSWORD_FILE, or export CRM_DB_PASSWORD)"
    fi
  else
    bash "$MARIADB_SH" provision "$MARIADB_ROOT" "$svc" >/dev/null
    db_user=crm_$svc
    db_name=crm_$svc
    password_file=$SECRETS/db-$svc.password
  fi
  if [[ -n ${db_user:-} ]]; then
    db_env=(
      "CRM_DB_HOST=$DB_HOST" "CRM_DB_PORT=$DB_PORT"
      "CRM_DB_USER=$db_user" "CRM_DB_NAME=$db_name"
    )
    # The password itself never goes on a command line.
    [[ -z $password_file ]] || db_env+=("CRM_DB_PASSWORD_FILE=$password_file")
  fi

  if pid=$(service_pid "$svc"); then
    echo "run.sh: $svc already running (pid $pid)"
    return 0
  fi
  if port_in_use "$port"; then
    die "$svc: port $port is taken by another program; set CRM_${svc^^}_PORT"
  fi

  local -a service_env=(
    "CRM_LISTEN_ADDRESS=127.0.0.1:$port"
    "${db_env[@]}"
    "CRM_JWT_HS256_KEY_FILE=$JWT_KEY_FILE${jwt_previous:+,$jwt_previous}"
    "CRM_PAGE_TOKEN_KEY_FILE=$PAGE_TOKEN_KEY_FILE"
    "CRM_JWT_ISSUER=crm-local" "CRM_JWT_AUDIENCE=crm"
    "${peer_env[@]}"
  )
  if [[ $svc == gateway ]]; then
    service_env+=("CRM_HTTP_LISTEN_ADDRESS=127.0.0.1:${CRM_GATEWAY_HTTP_PORT:-$DEFAULT_GATEWAY_HTTP_PORT}")
  fi
  if $TLS; then
    # Its own certificate serves its listener and identifies it to the
    # services it calls; only the gateway (the public front) takes clients
    # without a certificate.
    service_env+=(
      "CRM_TLS_CERT_FILE=$TLS_DIR/$svc.crt" "CRM_TLS_KEY_FILE=$TLS_DIR/$svc.key"
      "CRM_TLS_CA_FILE=$TLS_DIR/ca.crt"
      "CRM_TLS_CLIENT_CERT_FILE=$TLS_DIR/$svc.crt" "CRM_TLS_CLIENT_KEY_FILE=$TLS_DIR/$svc.key"
    )
    [[ $svc == gateway ]] || service_env+=("CRM_TLS_CLIENT_CA_FILE=$TLS_DIR/ca.crt")
  fi

  local log=$LOG_DIR/$svc.log
  LOG_OFFSET[$svc]=$(stat -c %s -- "$log" 2>/dev/null || echo 0)
  echo "==== $(date -u +%FT%TZ) run.sh starts crm-$svc on 127.0.0.1:$port" >>"$log"
  # setsid + nohup: the service outlives this script and its terminal.
  setsid nohup env "${service_env[@]}" "$(binary_of "$svc")" </dev/null >>"$log" 2>&1 &
  echo $! >"$RUN_DIR/$svc.pid"
  echo "run.sh: started $svc (pid $!, log ${log#"$REPO"/})"
}

wait_healthy() {
  local svc=$1 port
  port=$(port_of "$svc")
  local deadline=$((SECONDS + HEALTH_TIMEOUT_S))
  until timeout 5 "$CRMCTL" --address "127.0.0.1:$port" health >/dev/null 2>&1; do
    if ! service_pid "$svc" >/dev/null; then
      log_tail "$svc"
      die "$svc exited during start-up (deploy/local/stop.sh stops the rest)"
    fi
    if (( SECONDS >= deadline )); then
      log_tail "$svc"
      die "$svc not SERVING after ${HEALTH_TIMEOUT_S}s (deploy/local/stop.sh stops everything)"
    fi
    sleep 0.5
  done
}

for svc in "${SERVICES[@]}"; do start_service "$svc"; done
for svc in "${SERVICES[@]}"; do wait_healthy "$svc"; done

# ---- demo data, once ----
# The demo data lives in the customers service.
if [[ ${CRM_DEMO_DATA:-1} == 1 && ! -e $LOCAL/demo-loaded && " ${SERVICES[*]} " == *" customers "* ]]; then
  CRM_CUSTOMERS_ADDRESS=127.0.0.1:$(port_of customers) \
  CRM_JWT_HS256_KEY_FILE=$JWT_KEY_FILE \
    bash deploy/local/demo-data.sh
  touch -- "$LOCAL/demo-loaded"
fi

# ---- summary ----
crmctl_tls="" http_scheme=http curl_tls="" tls_note=""
if $TLS; then
  crmctl_tls=" --tls_ca_file .local/tls/ca.crt" http_scheme=https curl_tls=" --cacert .local/tls/ca.crt" tls_note=", TLS"
fi
echo
echo "CRM is running on loopback:"
for svc in "${SERVICES[@]}"; do
  printf '  %-14s 127.0.0.1:%-6s log .local/logs/%s.log\n' "$svc" "$(port_of "$svc")" "$svc"
done
if $EXTERNAL_DB; then
  printf '  %-14s %s:%s (external)\n' database "$DB_HOST" "$DB_PORT"
else
  printf '  %-14s 127.0.0.1:%-6s shell: mariadb --defaults-file=.local/mariadb/admin.cnf\n' mariadb "$DB_PORT"
fi
cat <<EOF

Mint a token (valid for the local services); crmctl reads it from CRM_TOKEN, kept off its command line:
  TOKEN=\$(build/services/crmctl/crmctl token --key-file .local/secrets/jwt-hs256.key \\
      --issuer crm-local --audience crm --subject mgr-li --role MANAGER --team east)
  export CRM_TOKEN=\$TOKEN
Call the suite through the gateway (gRPC 127.0.0.1:$(port_of gateway), HTTP/JSON 127.0.0.1:${CRM_GATEWAY_HTTP_PORT:-$DEFAULT_GATEWAY_HTTP_PORT}$tls_note):
  build/services/crmctl/crmctl --address 127.0.0.1:$(port_of gateway)$crmctl_tls suite health
  build/services/crmctl/crmctl --address 127.0.0.1:$(port_of gateway)$crmctl_tls customer360 customers/1
  curl$curl_tls -H "Authorization: Bearer \$TOKEN" $http_scheme://127.0.0.1:${CRM_GATEWAY_HTTP_PORT:-$DEFAULT_GATEWAY_HTTP_PORT}/v1/customers/1
Stop everything:
  deploy/local/stop.sh
EOF
