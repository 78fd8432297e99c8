# Sourced by run.sh and stop.sh (needs RUN_DIR set).
# service_pid <svc>: prints the pid of the running service <svc>, if any. The
# program name is checked too, so a stale pid file whose pid was reused after
# a crash does not count.
service_pid() {
  local pidfile=$RUN_DIR/$1.pid pid args
  [[ -r $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  # A zombie has an empty cmdline; an interpreter-run wrapper has the
  # program as a later argument.
  args=$'\n'$(tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline")$'\n'
  [[ $args =~ [/$'\n']crm-$1$'\n' ]] || return 1
  echo "$pid"
}
