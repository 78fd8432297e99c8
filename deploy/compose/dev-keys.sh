#!/usr/bin/env bash
# Creates the local development keys and passwords that compose.yaml mounts,
# once, in deploy/compose/dev-keys/ (git-ignored: never commit keys). Safe to
# run again: existing files are kept. For local use only; production keys
# live in the cluster's secret store (see helm/crm).
#
#   jwt-hs256.key          HS256 key the services verify tokens with (mint
#                          tokens with crmctl token --key-file …)
#   page-token.key         signs page tokens, shared by every replica
#   db-root.password       MariaDB root
#   db-<svc>.password      one database user per service
#   tls/                   with --tls only: deploy/local/dev-certs.sh's CA and
#                          certificates, for compose.tls.yaml
#
# CRM_DEV_KEYS_DIR writes them elsewhere (tests).
set -euo pipefail

case ${1:-} in
  "") tls=0 ;;
  --tls) tls=1 ;;
  *) echo "usage: dev-keys.sh [--tls]" >&2; exit 2 ;;
esac

readonly DIR=${CRM_DEV_KEYS_DIR:-$(dirname -- "$(realpath -- "${BASH_SOURCE[0]}")")/dev-keys}
readonly SERVICES=(customers opportunities complaints scheduling)

# 32 random bytes as 64 hex characters, no trailing newline; never printed.
make_secret() {
  local file=$DIR/$1
  [[ -s $file ]] && return 0
  od -An -vtx1 -N32 /dev/urandom | tr -d ' \n' >"$file.tmp"
  # Compose bind-mounts each file as a secret with the host's mode; the
  # services (uid 10001) and MariaDB (uid 999) must read it, so the files
  # are world-readable and the folder keeps other host users out.
  chmod 644 -- "$file.tmp"
  mv -f -- "$file.tmp" "$file"
  echo "dev-keys.sh: created $file"
}

mkdir -p -- "$DIR"
chmod 700 -- "$DIR"
make_secret jwt-hs256.key
make_secret page-token.key
make_secret db-root.password
for svc in "${SERVICES[@]}"; do make_secret "db-$svc.password"; done
if (( tls )); then
  bash "$(dirname -- "$(realpath -- "${BASH_SOURCE[0]}")")/../local/dev-certs.sh" "$DIR/tls"
  # As above: the containers' user must read the keys it is given (mode 644
  # inside the mode-700 folders); the CA's key is never mounted and stays 600.
  for svc in "${SERVICES[@]}" gateway; do chmod 644 -- "$DIR/tls/$svc.key"; done
fi
