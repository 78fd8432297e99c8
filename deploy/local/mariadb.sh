#!/usr/bin/env bash
# A private, throw-away MariaDB living entirely under one folder <root>, used
# by the local runner (deploy/local/run.sh) and by the CTest fixture (tests/).
#
#   mariadb.sh start     <root> [port]  initialise if needed, start, wait until ready
#   mariadb.sh stop      <root>         graceful shutdown; no-op if not running
#   mariadb.sh kill      <root>         SIGKILL (crash tests); no-op if not running
#   mariadb.sh status    <root>         exit 0 if running
#   mariadb.sh provision <root> <svc>   database + user crm_<svc>, password in
#                                       <root>/../secrets/db-<svc>.password
#
# Files under <root>: data/, mysqld.sock, mysqld.pid, mysqld.log,
# env (MARIADB_* for clients and tests) and admin.cnf (client option file for
# crm_admin: `mariadb --defaults-file=<root>/admin.cnf`). Both are mode 600.
set -euo pipefail

readonly START_TIMEOUT_S=60
readonly STOP_TIMEOUT_S=60
readonly ADMIN_USER=crm_admin
# Auto-picked ports stay below Linux's ephemeral range (32768+) so outgoing
# connections do not grab them between the pick and the bind.
readonly AUTO_PORT_MIN=20000
readonly AUTO_PORT_SPAN=12000

die() { echo "mariadb.sh: $*" >&2; exit 1; }
info() { echo "mariadb.sh: $*"; }

usage() {
  sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# Random lowercase hex: safe inside SQL literals and option files unquoted.
rand_hex() { od -An -vtx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# ---- paths (set by set_root) ----
root="" data="" sock="" pidfile="" logf="" envf="" cnf=""
set_root() {
  [[ -n ${1:-} ]] || usage
  root=$(realpath -m -- "$1")
  data=$root/data
  sock=$root/mysqld.sock
  pidfile=$root/mysqld.pid
  logf=$root/mysqld.log
  envf=$root/env
  cnf=$root/admin.cnf
  # sun_path is 108 bytes; a longer socket path fails late and obscurely.
  (( ${#sock} < 100 )) || die "socket path too long (${#sock} chars): $sock; use a shorter <root>"
}

# Serialises start/stop/kill/provision on one <root> (fd 9, closed before
# mariadbd is launched so the server never holds the lock).
lock_root() {
  mkdir -p -- "$root"
  chmod 700 -- "$root"
  exec 9>"$root/.lock"
  flock 9
}

# True if <pid> is a live mariadbd serving our datadir. A zombie has an empty
# cmdline, and a pid reused after a crash has a different one.
is_our_server() {
  local pid=$1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  local args
  args=$'\n'$(tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline")$'\n'
  [[ $args == *$'\n'"--datadir=$data"$'\n'* ]]
}

# Prints the server's pid if it is running.
server_pid() {
  local pid
  [[ -r $pidfile ]] || return 1
  pid=$(<"$pidfile")
  is_our_server "$pid" || return 1
  echo "$pid"
}

# Waits (bounded) until <pid> is no longer our server.
wait_gone() {
  local pid=$1 timeout_s=$2
  local deadline=$((SECONDS + timeout_s))
  while is_our_server "$pid"; do
    (( SECONDS < deadline )) || return 1
    sleep 0.2
  done
}

env_value() {
  [[ -r $envf ]] || return 0
  sed -n "s/^$1=//p" "$envf" | tail -n 1
}

port_in_use() { [[ -n $(ss -Hltn "sport = :$1") ]]; }

pick_free_port() {
  local port
  for _ in $(seq 200); do
    port=$((AUTO_PORT_MIN + RANDOM % AUTO_PORT_SPAN))
    if ! port_in_use "$port"; then echo "$port"; return 0; fi
  done
  die "no free loopback port found in $AUTO_PORT_MIN..$((AUTO_PORT_MIN + AUTO_PORT_SPAN))"
}

# The log lines written since byte offset $1, for error messages.
log_tail_since() {
  echo "---- last lines of $logf ----" >&2
  tail -c +"$(($1 + 1))" "$logf" 2>/dev/null | tail -n 30 >&2 || true
  echo "----" >&2
}

initialise_datadir() {
  info "initialising $data"
  local -a args=(--no-defaults --datadir="$data" --skip-test-db --skip-name-resolve
                 --auth-root-socket-user="$(id -un)")
  # As root, mariadbd refuses to run without --user; as anyone else it runs
  # as that user and --user would only produce a warning.
  if (( EUID == 0 )); then args+=(--user=root); fi
  # The default "socket" method leaves root@localhost reachable only by the
  # same OS user over the socket; "normal" would create password-less root
  # accounts on 127.0.0.1, ::1 and the hostname.
  if ! mariadb-install-db "${args[@]}" >"$root/install.log" 2>&1; then
    tail -n 30 "$root/install.log" >&2
    rm -rf -- "$data"
    die "mariadb-install-db failed (full output in $root/install.log)"
  fi
}

# Launches mariadbd on <port> and waits until it answers on its socket.
# Returns 3 if the port could not be bound (caller may pick another one).
launch() {
  local port=$1
  local -a args=(
    --no-defaults                  # never read /etc/mysql: no system paths
    --datadir="$data" --socket="$sock" --pid-file="$pidfile" --log-error="$logf"
    --bind-address=127.0.0.1 --port="$port" --skip-name-resolve
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci
    --default-time-zone=+00:00     # timestamps mean the same on every host
    --innodb-buffer-pool-size=256M --innodb-log-file-size=64M
    --innodb-flush-log-at-trx-commit=1
    --max-connections=300 --local-infile=0
    --tmpdir="$root/tmp"
  )
  if (( EUID == 0 )); then args+=(--user=root); fi
  mkdir -p -- "$root/tmp"

  local offset
  offset=$(stat -c %s "$logf" 2>/dev/null || echo 0)
  # setsid: the server outlives this script and ignores the caller's terminal
  # signals; every stream is redirected so CTest does not wait on an
  # inherited pipe. fds 3-9 are closed for the child: fd 9 is the root
  # lock, and a caller's lock (flock around ctest holds fd 3) would
  # otherwise stay held by the server for as long as it runs.
  setsid mariadbd "${args[@]}" </dev/null >>"$logf" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
  local pid=$!

  local deadline=$((SECONDS + START_TIMEOUT_S))
  until mariadb-admin --no-defaults --socket="$sock" --connect-timeout=2 ping >/dev/null 2>&1; do
    if ! is_our_server "$pid"; then
      wait "$pid" 2>/dev/null || true
      if tail -c +"$((offset + 1))" "$logf" | grep -q 'Bind on TCP/IP port'; then
        return 3
      fi
      log_tail_since "$offset"
      die "mariadbd exited during start-up"
    fi
    if (( SECONDS >= deadline )); then
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      log_tail_since "$offset"
      die "mariadbd did not answer within ${START_TIMEOUT_S}s (killed it)"
    fi
    sleep 0.2
  done
}

# Runs SQL from stdin as crm_admin over the socket (password from admin.cnf,
# never on a command line).
admin_sql() { mariadb --defaults-file="$cnf" --batch --skip-column-names; }

write_admin_files() {
  local port=$1 password=$2
  # umask in a subshell: the files hold the admin password.
  (
    umask 077
    cat >"$envf.tmp" <<EOF
MARIADB_HOST=127.0.0.1
MARIADB_PORT=$port
MARIADB_SOCKET=$sock
MARIADB_ADMIN_USER=$ADMIN_USER
MARIADB_ADMIN_PASSWORD=$password
EOF
    mv -f -- "$envf.tmp" "$envf"
    cat >"$cnf.tmp" <<EOF
[client]
user=$ADMIN_USER
password=$password
socket=$sock
default-character-set=utf8mb4
EOF
    mv -f -- "$cnf.tmp" "$cnf"
  )
}

# Idempotent account set-up, run as the OS user through unix_socket auth.
# Runs on first start, and again if an earlier first start died before the
# env file was written.
create_admin() {
  local password=$1
  local host
  host=$(uname -n)
  mariadb --no-defaults --socket="$sock" --user="$(id -un)" --batch <<EOF
-- Anonymous accounts shadow named ones for local connections (Access denied
-- with the right password); drop them in case this version created any.
DROP USER IF EXISTS ''@'localhost', ''@'$host';
CREATE USER IF NOT EXISTS '$ADMIN_USER'@'localhost' IDENTIFIED BY '$password';
CREATE USER IF NOT EXISTS '$ADMIN_USER'@'127.0.0.1' IDENTIFIED BY '$password';
ALTER USER '$ADMIN_USER'@'localhost' IDENTIFIED BY '$password';
ALTER USER '$ADMIN_USER'@'127.0.0.1' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON *.* TO '$ADMIN_USER'@'localhost' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$ADMIN_USER'@'127.0.0.1' WITH GRANT OPTION;
EOF
}

cmd_start() {
  local requested_port=${1:-}
  if [[ -n $requested_port && ! $requested_port =~ ^[0-9]+$ ]]; then
    die "port must be a number: $requested_port"
  fi
  lock_root

  local pid running_port
  if pid=$(server_pid); then
    running_port=$(env_value MARIADB_PORT)
    if [[ -n $requested_port && $requested_port != "$running_port" ]]; then
      die "already running on port $running_port (pid $pid); stop it to change the port"
    fi
    if [[ -r $envf ]]; then
      info "already running on 127.0.0.1:$running_port (pid $pid)"
      return 0
    fi
    # Running but never finished its first start: fall through to set-up.
  fi

  [[ -d $data/mysql ]] || initialise_datadir

  # Port: the running server's > explicit > the one this root used before >
  # a free one we pick.
  local port auto_port=false
  if pid=$(server_pid); then
    port=$(tr '\0' '\n' <"/proc/$pid/cmdline" | sed -n 's/^--port=//p')
  else
    port=${requested_port:-$(env_value MARIADB_PORT)}
  fi
  if [[ -z $port ]]; then
    port=$(pick_free_port)
    auto_port=true
  fi

  if ! pid=$(server_pid); then
    local attempt rc
    for attempt in 1 2 3 4 5; do
      if ! $auto_port && port_in_use "$port"; then
        die "port $port is already in use; pass another: mariadb.sh start $root <port>"
      fi
      rc=0
      launch "$port" || rc=$?
      if (( rc == 0 )); then break; fi
      # Only a port we picked ourselves may be swapped after losing a race.
      if (( rc == 3 )) && $auto_port && (( attempt < 5 )); then
        port=$(pick_free_port)
        continue
      fi
      die "could not bind 127.0.0.1:$port (see $logf)"
    done
  fi

  # Keep the password across restarts; make one on first start.
  local password
  password=$(env_value MARIADB_ADMIN_PASSWORD)
  if [[ -z $password ]]; then
    password=$(rand_hex 24)
    create_admin "$password"
  fi
  write_admin_files "$port" "$password"
  info "running on 127.0.0.1:$port (socket $sock, pid $(server_pid || echo '?'))"
}

cmd_stop() {
  [[ -d $root ]] || { info "not running ($root does not exist)"; return 0; }
  lock_root
  local pid
  if ! pid=$(server_pid); then
    info "not running"
    rm -f -- "$pidfile"
    return 0
  fi
  # A clean shutdown flushes InnoDB; SIGTERM does the same if the client
  # cannot log in (e.g. admin.cnf missing).
  if ! timeout 30 mariadb-admin --defaults-file="$cnf" --connect-timeout=5 shutdown >/dev/null 2>&1; then
    kill -TERM "$pid" 2>/dev/null || true
  fi
  if ! wait_gone "$pid" "$STOP_TIMEOUT_S"; then
    echo "mariadb.sh: still running after ${STOP_TIMEOUT_S}s; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || die "pid $pid survived SIGKILL"
  fi
  info "stopped (pid $pid)"
}

cmd_kill() {
  [[ -d $root ]] || { info "not running ($root does not exist)"; return 0; }
  lock_root
  local pid
  if ! pid=$(server_pid); then
    info "not running"
    return 0
  fi
  kill -KILL "$pid"
  wait_gone "$pid" 10 || die "pid $pid survived SIGKILL"
  info "killed (pid $pid)"
}

cmd_status() {
  local pid
  if pid=$(server_pid); then
    info "running on 127.0.0.1:$(env_value MARIADB_PORT) (pid $pid)"
    return 0
  fi
  info "not running"
  return 1
}

cmd_provision() {
  local service=${1:-}
  # The name becomes part of SQL identifiers: allow only a safe alphabet.
  [[ $service =~ ^[a-z][a-z0-9_]{0,40}$ ]] || die "service name must match [a-z][a-z0-9_]*: '$service'"
  lock_root
  server_pid >/dev/null || die "not running; run: mariadb.sh start $root"
  [[ -r $cnf ]] || die "$cnf missing; run: mariadb.sh start $root"

  local secrets password_file password
  secrets=$(dirname -- "$root")/secrets
  password_file=$secrets/db-$service.password
  mkdir -p -- "$secrets"
  chmod 700 -- "$secrets"
  if [[ ! -s $password_file ]]; then
    (umask 077; rand_hex 24 >"$password_file.tmp"; mv -f -- "$password_file.tmp" "$password_file")
  fi
  password=$(<"$password_file")

  local db=crm_$service
  # ALTER USER keeps the account in step with the file if either was reset.
  admin_sql <<EOF
CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$db'@'localhost' IDENTIFIED BY '$password';
CREATE USER IF NOT EXISTS '$db'@'127.0.0.1' IDENTIFIED BY '$password';
ALTER USER '$db'@'localhost' IDENTIFIED BY '$password';
ALTER USER '$db'@'127.0.0.1' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON \`$db\`.* TO '$db'@'localhost';
GRANT ALL PRIVILEGES ON \`$db\`.* TO '$db'@'127.0.0.1';
EOF
  info "provisioned database $db for user $db (password file $password_file)"
}

main() {
  local command=${1:-}
  [[ $# -ge 2 ]] || usage
  set_root "$2"
  shift 2
  case $command in
    start) cmd_start "$@" ;;
    stop) cmd_stop ;;
    kill) cmd_kill ;;
    status) cmd_status ;;
    provision) cmd_provision "$@" ;;
    *) usage ;;
  esac
}

main "$@"
