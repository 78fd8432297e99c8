#!/usr/bin/env python3
"""Assertions on the objects `helm template` rendered from helm/crm.

  check_rendered.py --objects rendered.json --yaml rendered.yaml \
                    --values helm/crm/values.yaml [--values override.yaml] [--kube-minor 32]

rendered.json is the rendered manifest as a stream of JSON objects (kubectl
converts it offline), rendered.yaml the same as Helm printed it (scanned for
key material). The values files are the ones the render used, merged in
order, so the expectations follow them. Facts about the services (ports,
flags, callers) come from the sources (tests/deploy/service_facts.py).
Prints one line per failed assertion and 'N passed, N failed'.
"""

import argparse
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "deploy"))
import mini_yaml  # noqa: E402
import service_facts as facts  # noqa: E402

ALLOWED_KINDS = {"Deployment", "Service", "ConfigMap", "HorizontalPodAutoscaler", "PodDisruptionBudget",
                 "NetworkPolicy", "Job", "Ingress", "ServiceAccount"}
COMPONENT = "app.kubernetes.io/component"
TLS_FILES = ("/tls.crt", "/tls.key", "/ca.crt")


class Checks:
    def __init__(self, label):
        self.label, self.passed, self.failed = label, 0, 0

    def check(self, condition, message):
        if condition:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL [{self.label}] {message}")
        return bool(condition)


def load_objects(path):
    text = open(path, encoding="utf-8").read()
    decoder, pos, objects = json.JSONDecoder(), 0, []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        obj, pos = decoder.raw_decode(text, pos)
        objects.extend(obj.get("items", []) if obj.get("kind") == "List" else [obj])
    return objects


def merge(base, override):
    if isinstance(base, dict) and isinstance(override, dict):
        result = dict(base)
        for k, v in override.items():
            result[k] = merge(base.get(k), v) if k in base else v
        return result
    return override


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def parse_address(value):
    """(host, port) of "host:port" or "dns:///host:port"."""
    m = re.fullmatch(r"(?:dns:///)?([a-z0-9.-]+):(\d+)", value)
    return (m.group(1), int(m.group(2))) if m else (None, None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", required=True)
    ap.add_argument("--yaml", required=True)
    ap.add_argument("--values", action="append", required=True)
    ap.add_argument("--kube-minor", type=int, default=32)
    ap.add_argument("--label", default="render")
    args = ap.parse_args()

    c = Checks(args.label)
    values = {}
    for path in args.values:
        values = merge(values, mini_yaml.load(open(path, encoding="utf-8").read()))
    objects = load_objects(args.objects)
    raw = open(args.yaml, encoding="utf-8").read()

    by_kind = {}
    for o in objects:
        by_kind.setdefault(o["kind"], []).append(o)
        c.check(o["kind"] in ALLOWED_KINDS, f"unexpected kind {o['kind']} {o['metadata']['name']}")
    c.check("Secret" not in by_kind, "the chart renders a Secret (secrets must come from existing Secrets)")
    c.check(re.search(r"^kind:\s*Secret\s*$", raw, re.M) is None, "kind: Secret in the rendered output")
    c.check("-----BEGIN" not in raw and "PRIVATE KEY" not in raw, "key material (PEM) in the rendered output")
    # base64("-----BEGIN"), as a Secret's data would hold it.
    c.check("LS0tLS1CRUdJTi" not in raw, "base64 key material (PEM) in the rendered output")

    services = {s["metadata"]["name"]: s for s in by_kind.get("Service", [])}
    deployments = {d["metadata"]["name"]: d for d in by_kind.get("Deployment", [])}
    configmaps = {m["metadata"]["name"]: m for m in by_kind.get("ConfigMap", [])}
    run_as = values["security"]["runAsUser"]
    algorithm = values["auth"]["algorithm"]
    # TLS (common/tls): the files come from the TLS Secret; the kubelet's
    # gRPC probes, which cannot speak TLS, go to the plaintext health-only port.
    tls = values["tls"]
    health_port = values["probes"]["healthPort"]
    secrets_dir = "/etc/crm/secrets"

    def check_secret_free_env(where, env):
        for key, value in env.items():
            if re.search(r"PASSWORD|SECRET|TOKEN|KEY", key) and key != "CRM_JWT_AUDIENCE":
                # A JWT key file setting lists two files during a key rollover.
                c.check(key.endswith("_FILE") and all(f.startswith("/etc/crm/secrets/") for f in value.split(",")),
                        f"{where}: {key} carries a secret value instead of a mounted file path")
            c.check(re.search(r"[0-9a-fA-F]{32,}", value) is None, f"{where}: {key} looks like key material")

    def check_security(where, pod_spec, container):
        psc, csc = pod_spec.get("securityContext", {}), container.get("securityContext", {})
        c.check(psc.get("runAsNonRoot") is True and csc.get("runAsNonRoot") is True, f"{where}: runAsNonRoot")
        c.check(psc.get("runAsUser") == run_as and csc.get("runAsUser") == run_as, f"{where}: runAsUser {run_as}")
        c.check(csc.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem")
        c.check(csc.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation false")
        c.check("ALL" in csc.get("capabilities", {}).get("drop", []), f"{where}: capabilities drop ALL")
        c.check(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"{where}: seccompProfile RuntimeDefault")
        c.check(pod_spec.get("automountServiceAccountToken") is False, f"{where}: mounts a service account token")
        res = container.get("resources", {})
        for kind in ("requests", "limits"):
            c.check({"cpu", "memory"} <= set(res.get(kind, {})), f"{where}: resources.{kind} needs cpu and memory")

    def check_files(where, env, pod_spec, container):
        """Every *_FILE variable is a file of a mounted projected Secret."""
        mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
        files = {}
        for vol in pod_spec.get("volumes", []):
            if vol["name"] in mounts:
                for src in vol.get("projected", {}).get("sources", []):
                    c.check("secret" in src, f"{where}: projected volume {vol['name']} has a non-Secret source")
                    for item in src.get("secret", {}).get("items", []):
                        files[f"{mounts[vol['name']]}/{item['path']}"] = src["secret"]["name"]
                if "secret" in vol:
                    c.check(False, f"{where}: use the projected secrets volume, not {vol['name']}")
        for key, value in env.items():
            if key.endswith("_FILE"):
                for path in value.split(","):
                    c.check(path in files, f"{where}: {key}={path} is not a file of a mounted Secret")
        return files

    def check_tls(where, svc, env, files, container):
        tls_env = {k for k in env if k.startswith("CRM_TLS_") or k == "CRM_HEALTH_PORT"}
        if not tls["enabled"]:
            c.check(not tls_env, f"{where}: TLS settings {sorted(tls_env)} with tls.enabled false")
            c.check(not any(f.endswith(TLS_FILES) for f in files), f"{where}: TLS files mounted with tls.enabled false")
            return
        calls_peers = any(f"CRM_{p.upper()}_ADDRESS" in flags[svc] for p in facts.services())
        mutual = tls["requireClientCerts"]
        want = {"CRM_TLS_CERT_FILE": "tls.crt", "CRM_TLS_KEY_FILE": "tls.key", "CRM_TLS_CA_FILE": "ca.crt"}
        if mutual and svc != "gateway":  # the gateway's ports are public
            want["CRM_TLS_CLIENT_CA_FILE"] = "ca.crt"
        if mutual and calls_peers:
            want.update({"CRM_TLS_CLIENT_CERT_FILE": "tls.crt", "CRM_TLS_CLIENT_KEY_FILE": "tls.key"})
        c.check(tls_env == set(want) | {"CRM_HEALTH_PORT"},
                f"{where}: TLS settings {sorted(tls_env)}, expected {sorted(set(want) | {'CRM_HEALTH_PORT'})}")
        c.check(env.get("CRM_HEALTH_PORT") == str(health_port), f"{where}: CRM_HEALTH_PORT {env.get('CRM_HEALTH_PORT')}")
        secret = (tls.get("serviceSecrets") or {}).get(svc) or tls["secretName"]
        for var, item in want.items():
            path = f"{secrets_dir}/{item}"
            c.check(env.get(var) == path and files.get(path) == secret,
                    f"{where}: {var}={env.get(var)} must be {item} of Secret {secret}")
        mount = [m for m in container.get("volumeMounts", []) if m["mountPath"] == secrets_dir]
        c.check(len(mount) == 1 and mount[0].get("readOnly") is True, f"{where}: {secrets_dir} must be mounted read-only")

    flags = {svc: facts.env_names(svc) for svc in facts.services()}
    callers = {svc: {x for x in facts.services() if f"CRM_{svc.upper()}_ADDRESS" in flags[x]} for svc in facts.services()}
    # The callers the design names (DESIGN/issue): the flags must agree.
    c.check(callers == {"customers": {"gateway", "opportunities", "complaints", "scheduling"},
                        "opportunities": {"gateway", "scheduling"}, "complaints": {"gateway", "scheduling"},
                        "scheduling": {"gateway"}, "gateway": set()},
            f"callers from the --*_address flags differ from the intended topology: {callers}")
    ports, http_port = facts.ports()

    for svc in facts.services():
        v = values[svc]
        deps = [d for d in deployments.values() if d["metadata"]["labels"].get(COMPONENT) == svc]
        if not c.check(len(deps) == 1, f"{svc}: expected one Deployment, found {len(deps)}"):
            continue
        dep = deps[0]
        name = dep["metadata"]["name"]
        pod = dep["spec"]["template"]
        spec = pod["spec"]
        labels = pod["metadata"]["labels"]
        c.check(selects(dep["spec"]["selector"]["matchLabels"], labels), f"{name}: selector does not match its pods")
        c.check(len(spec["containers"]) == 1, f"{name}: one container expected")
        ctr = spec["containers"][0]
        cports = {p["name"]: p["containerPort"] for p in ctr.get("ports", [])}
        c.check(cports.get("grpc") == ports[svc] == v["port"], f"{name}: container port grpc {cports.get('grpc')}, expected {ports[svc]}")
        if svc == "gateway":
            c.check(cports.get("http") == http_port, f"{name}: container port http must be {http_port}")
        c.check(re.search(rf"/{svc}:[\w.-]+$|^{re.escape(v['image']['repository'])}:", ctr["image"]) is not None
                and not ctr["image"].endswith(":latest"), f"{name}: image {ctr['image']}")
        if tls["enabled"]:
            c.check(cports.get("health") == health_port and health_port not in (ports[svc], http_port),
                    f"{name}: container port health must be probes.healthPort {health_port}, apart from the service's ports")
            probe_port = "health"
        else:
            c.check("health" not in cports, f"{name}: a health port without TLS")
            probe_port = "grpc"
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            p = ctr.get(probe, {})
            c.check(p.get("grpc", {}).get("port") == cports.get(probe_port),
                    f"{name}: {probe} must be a gRPC probe on the {probe_port} port")
        # Liveness must not follow the database (common/server kLivenessServiceName).
        c.check(ctr.get("livenessProbe", {}).get("grpc", {}).get("service") == "crm.liveness",
                f"{name}: livenessProbe must ask for the crm.liveness health name")
        check_security(name, spec, ctr)
        c.check(spec.get("topologySpreadConstraints") and all(
            selects(t["labelSelector"]["matchLabels"], labels) for t in spec["topologySpreadConstraints"]),
            f"{name}: topologySpreadConstraints missing or not selecting its pods")

        # Configuration: the ConfigMap it loads.
        refs = [e["configMapRef"]["name"] for e in ctr.get("envFrom", []) if "configMapRef" in e]
        cm = configmaps.get(refs[0]) if refs else None
        if not c.check(cm is not None, f"{name}: its envFrom ConfigMap is not rendered"):
            continue
        env = cm.get("data", {})
        for key in env:
            c.check(key in flags[svc], f"ConfigMap {cm['metadata']['name']}: {key} is not a flag of crm-{svc}")
        check_secret_free_env(f"ConfigMap {cm['metadata']['name']}", env)
        c.check(env.get("CRM_LISTEN_ADDRESS") == f"0.0.0.0:{cports.get('grpc')}", f"{name}: CRM_LISTEN_ADDRESS {env.get('CRM_LISTEN_ADDRESS')}")
        key_var = "CRM_JWT_RS256_PUBLIC_KEY_FILE" if algorithm == "RS256" else "CRM_JWT_HS256_KEY_FILE"
        c.check(key_var in env and ("CRM_JWT_HS256_KEY_FILE" in env) != ("CRM_JWT_RS256_PUBLIC_KEY_FILE" in env),
                f"{name}: exactly {key_var} expected")
        if algorithm == "RS256" and "CRM_SERVICE_TOKEN_FILE" in flags[svc]:
            c.check("CRM_SERVICE_TOKEN_FILE" in env, f"{name}: RS256 needs CRM_SERVICE_TOKEN_FILE (a public key cannot mint)")
        if svc == "gateway":
            c.check(env.get("CRM_HTTP_LISTEN_ADDRESS") == f"0.0.0.0:{http_port}", f"{name}: CRM_HTTP_LISTEN_ADDRESS")
        files = check_files(name, env, spec, ctr)
        # Key rotation: the rollover key, when named, is a second file of the key Secret.
        jwt_files = env.get(key_var, "").split(",")
        rollover = values["auth"].get("rolloverKey", "")
        c.check(len(jwt_files) == (2 if rollover else 1)
                and all(files.get(f) == values["auth"]["keySecret"]["name"] for f in jwt_files),
                f"{name}: {key_var} must list the key Secret's key{' and rollover key' if rollover else ''}")
        check_tls(name, svc, env, files, ctr)
        db = svc in facts.database_services()
        if db:
            c.check(env.get("CRM_DB_HOST") == values["database"]["host"] and env.get("CRM_DB_NAME") == v["database"]["name"]
                    and env.get("CRM_DB_USER") == v["database"]["user"], f"{name}: database settings")
            c.check(files.get(env.get("CRM_DB_PASSWORD_FILE")) == v["database"]["passwordSecret"]["name"],
                    f"{name}: the password file must come from Secret {v['database']['passwordSecret']['name']}")
        else:
            c.check(not any(k.startswith("CRM_DB_") for k in env), f"{name}: owns no database but gets CRM_DB_*")

        # Graceful shutdown: preStop, then SIGTERM with the server's drain and grace.
        grace = int(env.get("CRM_SHUTDOWN_GRACE_SECONDS", "10")) + int(env.get("CRM_SHUTDOWN_DRAIN_SECONDS", "0"))
        pre = ctr.get("lifecycle", {}).get("preStop", {})
        if args.kube_minor >= 30:
            pre_s = pre.get("sleep", {}).get("seconds")
        else:
            cmd = pre.get("exec", {}).get("command", [])
            pre_s = int(cmd[1]) if len(cmd) == 2 and cmd[0] == "/bin/sleep" else None
        c.check(pre_s == values["shutdown"]["preStopSleepSeconds"] and pre_s and pre_s > 0,
                f"{name}: preStop sleep of {values['shutdown']['preStopSleepSeconds']} s expected (kube 1.{args.kube_minor}), got {pre}")
        c.check(spec.get("terminationGracePeriodSeconds", 30) > (pre_s or 0) + grace,
                f"{name}: terminationGracePeriodSeconds {spec.get('terminationGracePeriodSeconds')} <= preStop {pre_s} + drain and grace {grace}")

        # Peers: each address names a rendered Service and one of its ports.
        for peer in facts.services():
            var = f"CRM_{peer.upper()}_ADDRESS"
            if var not in flags[svc]:
                continue
            host, port = parse_address(env.get(var, ""))
            target = services.get(host)
            if c.check(target is not None, f"{name}: {var}={env.get(var)} names no rendered Service"):
                c.check(target["metadata"]["labels"].get(COMPONENT) == peer, f"{name}: {var} points at {host}, not {peer}")
                c.check(port in [p["port"] for p in target["spec"]["ports"]], f"{name}: {var} port {port} not on {host}")
                if values["peers"]["addressStyle"] == "headless":
                    c.check(env[var].startswith("dns:///") and target["spec"].get("clusterIP") == "None",
                            f"{name}: {var} must be dns:/// to a headless Service")

        # Services in front of it.
        front = [s for s in services.values() if selects(s["spec"].get("selector"), labels)]
        c.check(any(s["spec"].get("clusterIP") != "None" for s in front), f"{name}: no ClusterIP Service selects it")
        for s in front:
            names = {p.get("name") for p in s["spec"]["ports"]}
            c.check("grpc" in names and (svc != "gateway" or "http" in names),
                    f"Service {s['metadata']['name']}: ports must be named grpc (and http for the gateway)")
            for p in s["spec"]["ports"]:
                tp = p.get("targetPort", p["port"])
                c.check(tp in cports or tp in cports.values(),
                        f"Service {s['metadata']['name']}: targetPort {tp} is not a container port of {name}")

        # Autoscaling or fixed replicas.
        hpas = [h for h in by_kind.get("HorizontalPodAutoscaler", []) if h["spec"]["scaleTargetRef"]["name"] == name]
        if v["autoscaling"]["enabled"]:
            if c.check(len(hpas) == 1, f"{name}: one HPA expected"):
                h = hpas[0]["spec"]
                c.check(h["minReplicas"] == v["autoscaling"]["minReplicas"] <= h["maxReplicas"] == v["autoscaling"]["maxReplicas"],
                        f"{name}: HPA min/max {h['minReplicas']}/{h['maxReplicas']}")
            c.check("replicas" not in dep["spec"], f"{name}: has spec.replicas although an HPA scales it")
        else:
            c.check(not hpas and dep["spec"].get("replicas") == v["replicaCount"], f"{name}: replicas {v['replicaCount']} expected, no HPA")

        pdbs = [p for p in by_kind.get("PodDisruptionBudget", []) if selects(p["spec"]["selector"]["matchLabels"], labels)]
        c.check(len(pdbs) == (1 if v["pdb"]["enabled"] else 0), f"{name}: PodDisruptionBudget count {len(pdbs)}")

        # NetworkPolicy: callers in, DNS + database + peers out.
        if values["networkPolicy"]["enabled"]:
            pols = [p for p in by_kind.get("NetworkPolicy", []) if selects(p["spec"]["podSelector"]["matchLabels"], labels)]
            if c.check(len(pols) == 1, f"{name}: one NetworkPolicy expected, found {len(pols)}"):
                pol = pols[0]["spec"]
                c.check(set(pol["policyTypes"]) == {"Ingress", "Egress"}, f"{name}: policy must cover Ingress and Egress")
                allowed = set()
                for rule in pol.get("ingress", []):
                    rule_ports = {p["port"] for p in rule.get("ports", [])}
                    c.check(rule_ports <= set(cports.values()), f"{name}: ingress on ports {rule_ports} it does not serve")
                    if "from" not in rule:
                        allowed.add("*")
                    for peer in rule.get("from", []):
                        comp = peer.get("podSelector", {}).get("matchLabels", {}).get(COMPONENT)
                        allowed.add(comp or "other")
                want = {"*"} if svc == "gateway" and not v.get("allowFrom") else callers[svc]
                if svc == "gateway" and v.get("allowFrom"):
                    want = {"other"}
                c.check(allowed == want, f"{name}: ingress allowed from {sorted(allowed)}, expected {sorted(want)}")
                egress_ports = {p["port"] for r in pol.get("egress", []) for p in r.get("ports", [])}
                want_ports = {53} | ({values["database"]["port"]} if db else set()) | \
                             {ports[p] for p in facts.services() if f"CRM_{p.upper()}_ADDRESS" in flags[svc]}
                c.check(egress_ports == want_ports, f"{name}: egress ports {sorted(egress_ports)}, expected {sorted(want_ports)}")

        # The migration Job (database services).
        jobs = [j for j in by_kind.get("Job", []) if j["spec"]["template"]["metadata"]["labels"].get(COMPONENT) == f"{svc}-migration"]
        want_job = db and v.get("migration", {}).get("enabled", False)
        if not c.check(len(jobs) == (1 if want_job else 0), f"{svc}: {1 if want_job else 0} migration Job expected, found {len(jobs)}"):
            continue
        for job in jobs:
            jname = job["metadata"]["name"]
            ann = job["metadata"].get("annotations", {})
            hooks = set(ann.get("helm.sh/hook", "").split(","))
            c.check({"pre-install", "pre-upgrade"} <= hooks, f"Job {jname}: needs pre-install and pre-upgrade hooks, has {hooks}")
            c.check(ann.get("helm.sh/hook-delete-policy"), f"Job {jname}: no hook-delete-policy")
            jspec = job["spec"]["template"]["spec"]
            jc = jspec["containers"][0]
            c.check(jc.get("args") == ["--migrate_only"], f"Job {jname}: must run --migrate_only")
            c.check(jc["image"] == ctr["image"], f"Job {jname}: image differs from the Deployment's")
            c.check(jspec.get("restartPolicy") == "Never", f"Job {jname}: restartPolicy Never")
            c.check(not jc.get("envFrom"), f"Job {jname}: a pre-install hook cannot read the release's ConfigMap")
            c.check(jspec.get("serviceAccountName") in (None, "default"),
                    f"Job {jname}: the release's ServiceAccount does not exist yet at pre-install")
            jenv = {e["name"]: e.get("value", "") for e in jc.get("env", [])}
            for key in jenv:
                c.check(key in flags[svc], f"Job {jname}: {key} is not a flag of crm-{svc}")
            for key in ("CRM_DB_HOST", "CRM_DB_PORT", "CRM_DB_USER", "CRM_DB_NAME", "CRM_DB_PASSWORD_FILE", key_var):
                c.check(jenv.get(key) == env.get(key), f"Job {jname}: {key} differs from the service's")
            check_secret_free_env(f"Job {jname}", jenv)
            check_security(f"Job {jname}", jspec, jc)
            jfiles = check_files(f"Job {jname}", jenv, jspec, jc)
            # It neither serves nor calls: no TLS settings, no certificate or key.
            c.check(not any(k.startswith("CRM_TLS_") or k == "CRM_HEALTH_PORT" for k in jenv)
                    and not any(f.endswith(TLS_FILES) for f in jfiles), f"Job {jname}: TLS settings or files")
            jlabels = job["spec"]["template"]["metadata"]["labels"]
            c.check(not any(selects(s["spec"].get("selector"), jlabels) for s in services.values()),
                    f"Job {jname}: a Service would route calls to the migration pod")

    # Every HPA targets a rendered Deployment; every Service selects one.
    for h in by_kind.get("HorizontalPodAutoscaler", []):
        ref = h["spec"]["scaleTargetRef"]
        c.check(ref["kind"] == "Deployment" and ref["name"] in deployments,
                f"HPA {h['metadata']['name']}: scaleTargetRef {ref} names no rendered Deployment")
    for s in services.values():
        c.check(any(selects(s["spec"].get("selector"), d["spec"]["template"]["metadata"]["labels"]) for d in deployments.values()),
                f"Service {s['metadata']['name']}: selects no Deployment's pods")

    # The gateway's Ingress.
    ingresses = by_kind.get("Ingress", [])
    want_ingress = values["gateway"]["ingress"]["enabled"]
    c.check(len(ingresses) == (1 if want_ingress else 0), f"Ingress count {len(ingresses)}, expected {1 if want_ingress else 0}")
    for ing in ingresses:
        for rule in ing["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                b = path["backend"]["service"]
                target = services.get(b["name"])
                c.check(target is not None and b["port"].get("name") in {p.get("name") for p in target["spec"]["ports"]},
                        f"Ingress {ing['metadata']['name']}: backend {b} is not a rendered Service port")
        if values["gateway"]["ingress"]["tlsSecretName"]:
            c.check(ing["spec"].get("tls"), f"Ingress {ing['metadata']['name']}: TLS expected")

    print(f"check_rendered [{args.label}]: {c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
