#!/usr/bin/env bash
# Creates a local certificate authority and the certificates the suite needs
# for TLS and mutual TLS (see deploy/README.md, "TLS"). For development and
# tests only: production certificates come from the cluster's issuer.
#
#   dev-certs.sh [DIR]        default DIR: .local/tls (git-ignored)
#
#   ca.crt / ca.key           the local CA (the key signs the others; keep it)
#   <svc>.crt / <svc>.key     customers, opportunities, complaints, scheduling,
#                             gateway: serverAuth (its listener) and clientAuth
#                             (its calls to other services, e.g. gateway →
#                             customers under mutual TLS)
#   crmctl.crt / crmctl.key   clientAuth only: crmctl calling a service directly
#
# Server names (SANs): localhost, 127.0.0.1, ::1, <svc> (compose),
# <release>-<svc> and <release>-<svc>-headless with their
# <namespace>.svc[.cluster.local] forms (Helm). CRM_CERT_RELEASE (crm) and
# CRM_CERT_NAMESPACE (default) set those; CRM_CERT_EXTRA_SANS adds more
# ("DNS:crm.example.com,IP:10.0.0.5").
#
# Safe to run again: existing files are kept. Keys are EC P-256, mode 0600,
# and never printed.
set -euo pipefail

REPO=$(realpath -- "$(dirname -- "${BASH_SOURCE[0]}")/../..")
readonly REPO
readonly DIR=${1:-$REPO/.local/tls}
readonly SERVICES=(customers opportunities complaints scheduling gateway)
readonly RELEASE=${CRM_CERT_RELEASE:-crm}
readonly NAMESPACE=${CRM_CERT_NAMESPACE:-default}
readonly CA_DAYS=3650 LEAF_DAYS=825

die() { echo "dev-certs.sh: $*" >&2; exit 1; }
command -v openssl >/dev/null || die "openssl is not installed"

# A random positive 64-bit serial (no serial file to keep next to the CA).
serial() { echo "0x$(od -An -vtx1 -N8 /dev/urandom | tr -d ' \n' | sed 's/^./1/')"; }

new_key() { (umask 077; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null); }

# leaf NAME EXTENDED_KEY_USAGE [SANS]: NAME.key and NAME.crt signed by the CA.
leaf() {
  local name=$1 usage=$2 sans=${3:-}
  [[ -s $DIR/$name.crt && -s $DIR/$name.key ]] && return 0
  new_key "$DIR/$name.key.tmp"
  local ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=$usage
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid"
  [[ -n $sans ]] && ext+=$'\n'"subjectAltName=$sans"
  openssl req -new -key "$DIR/$name.key.tmp" -subj "/O=crm-dev/CN=$name" 2>/dev/null |
    openssl x509 -req -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" -set_serial "$(serial)" \
      -days "$LEAF_DAYS" -sha256 -extfile <(printf '%s\n' "$ext") -out "$DIR/$name.crt.tmp" 2>/dev/null ||
    die "cannot sign $name.crt"
  mv -f -- "$DIR/$name.key.tmp" "$DIR/$name.key"
  mv -f -- "$DIR/$name.crt.tmp" "$DIR/$name.crt"
  echo "dev-certs.sh: created $DIR/$name.crt"
}

mkdir -p -- "$DIR"
chmod 700 -- "$DIR"

if [[ ! -s $DIR/ca.crt || ! -s $DIR/ca.key ]]; then
  # A new CA invalidates every certificate signed by an old one.
  rm -f -- "$DIR"/*.crt "$DIR"/*.key
  new_key "$DIR/ca.key"
  openssl req -x509 -new -key "$DIR/ca.key" -subj "/O=crm-dev/CN=crm local development CA" \
    -days "$CA_DAYS" -sha256 -set_serial "$(serial)" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$DIR/ca.crt" 2>/dev/null || die "cannot create the CA"
  echo "dev-certs.sh: created $DIR/ca.crt"
fi

for svc in "${SERVICES[@]}"; do
  k8s="$RELEASE-$svc"
  sans="DNS:localhost,IP:127.0.0.1,IP:::1,DNS:$svc,DNS:$k8s,DNS:$k8s-headless"
  for suffix in "$NAMESPACE.svc" "$NAMESPACE.svc.cluster.local"; do
    sans+=",DNS:$k8s.$suffix,DNS:$k8s-headless.$suffix"
  done
  [[ -n ${CRM_CERT_EXTRA_SANS:-} ]] && sans+=",$CRM_CERT_EXTRA_SANS"
  leaf "$svc" serverAuth,clientAuth "$sans"
done
leaf crmctl clientAuth
