#!/usr/bin/env python3
"""Checks the deployment files against the code, without a container engine.

  python3 tests/deploy/check_deploy.py        (CTest: crm_deploy_check, label deploy)

- deploy/docker/Dockerfile: a Debian 12 build stage that reuses
  deploy/install-deps.sh and builds every service's CMake executable once; one
  debian:12-slim runtime target per service that copies exactly that binary,
  runs it as uid 10001, exposes its ports, and installs runtime packages only
  (no -dev, no compiler). With a build tree ($CRM_BUILD_DIR, default build/),
  each binary's NEEDED libraries must be owned by a package the target
  installs or one of their dependencies (dpkg's view of this Debian 12 host).
- .dockerignore lets in what the build stage copies and keeps build trees,
  .local/ and the compose dev keys out.
- deploy/compose/compose.yaml: MariaDB with its health check, a migration
  job per database service (`--migrate_only`, a real flag) that the service
  waits for, every CRM_* variable a flag of that service, ports as in
  deploy/local/run.sh, peers addressed by compose name and port, passwords
  and keys only as mounted files made by dev-keys.sh.
- deploy/compose/compose.tls.yaml: each service's TLS files are secrets that
  `dev-keys.sh --tls` makes, readable by the containers; mutual TLS except
  on the gateway's public ports.
- helm/crm/values.yaml and ci/production-values.yaml: the same ports, and
  extra env names that are flags of the services they go to.

Facts about the services come from the sources (service_facts.py). Prints
one line per failed assertion and a closing 'N passed, N failed' line.
"""

import fnmatch
import functools
import os
import re
import shlex
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mini_yaml  # noqa: E402
import service_facts as facts  # noqa: E402

REPO = facts.REPO
DOCKERFILE = "deploy/docker/Dockerfile"
COMPOSE = "deploy/compose/compose.yaml"
DEV_KEYS = "deploy/compose/dev-keys.sh"
COMPOSE_TLS = "deploy/compose/compose.tls.yaml"
VALUES_FILES = ["helm/crm/values.yaml", "helm/crm/ci/production-values.yaml"]
RUNTIME_BASE = "debian:12-slim"
BUILD_BASE = "debian:12"
NON_ROOT_UID = "10001"
# Never in a runtime image.
BUILD_ONLY_PACKAGES = {"g++", "gcc", "cpp", "clang", "cmake", "ninja-build", "make", "ccache",
                       "build-essential", "pkg-config", "protobuf-compiler", "protobuf-compiler-grpc",
                       "binutils", "git", "curl", "wget"}


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = []
        self.notes = []

    def check(self, condition, message):
        if condition:
            self.passed += 1
        else:
            self.failed.append(message)
            print(f"FAIL {message}")
        return condition

    def note(self, message):
        self.notes.append(message)
        print(f"note {message}")


# ---- Dockerfile ----------------------------------------------------------------

class Stage:
    def __init__(self, base, name):
        self.base, self.name = base, name
        self.instructions = []  # (keyword, argument text)

    def args(self, keyword):
        return [a for k, a in self.instructions if k == keyword]


def parse_dockerfile(text):
    # Join continuation lines, drop comments and the parser directive.
    logical, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not current):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        if current.strip():
            logical.append(current.strip())
        current = ""
    stages = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            m = re.match(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$", rest.strip(), re.I)
            stages.append(Stage(m.group(1), m.group(2)))
        elif stages:
            stages[-1].instructions.append((keyword, rest.strip()))
    return stages


def chain(stages, stage):
    """The stage and the stages it is built FROM, nearest first."""
    by_name = {s.name: s for s in stages if s.name}
    result = [stage]
    while stage.base in by_name:
        stage = by_name[stage.base]
        result.append(stage)
    return result


def apt_packages(stage):
    packages = []
    for run in stage.args("RUN"):
        for install in re.findall(r"apt-get install ([^&;|]*)", run):
            packages += [w for w in shlex.split(install) if not w.startswith("-")]
    return packages


def json_array(text):
    m = re.match(r'^\[\s*(.*?)\s*\]$', text)
    return [x.strip().strip('"') for x in m.group(1).split(",")] if m else None


def check_dockerfile(c, ports, http_port, executables):
    text = facts.read(DOCKERFILE)
    stages = parse_dockerfile(text)
    names = {s.name: s for s in stages if s.name}

    build = names.get("build")
    if c.check(build is not None, f"{DOCKERFILE}: no stage named 'build'"):
        c.check(build.base == BUILD_BASE, f"{DOCKERFILE}: build stage is FROM {build.base}, expected {BUILD_BASE}")
        runs = " ".join(build.args("RUN"))
        c.check("install-deps.sh" in runs, f"{DOCKERFILE}: build stage does not run deploy/install-deps.sh")
        c.check(re.search(r"-G\s*Ninja", runs) is not None, f"{DOCKERFILE}: build stage does not use Ninja")
        c.check("CMAKE_BUILD_TYPE=Release" in runs, f"{DOCKERFILE}: build stage is not a Release build")
        targets = re.search(r"cmake --build \S+ --target ((?:[\w-]+ ?)+)", runs)
        built = set(targets.group(1).split()) if targets else set()
        for svc, exe in executables.items():
            c.check(exe in built, f"{DOCKERFILE}: build stage does not build CMake target {exe}")
            c.check(f"/build/services/$svc/crm-$svc" in runs or f"/build/services/{svc}/{exe}" in runs,
                    f"{DOCKERFILE}: build stage does not take {exe} from build/services/{svc}/")
        # Everything the build stage copies must be in the build context.
        copied = []
        for arg in build.args("COPY"):
            if not arg.startswith("--from"):
                copied += shlex.split(arg)[:-1]
        check_dockerignore(c, copied)

    for svc in facts.services():
        stage = names.get(svc)
        if not c.check(stage is not None, f"{DOCKERFILE}: no target '{svc}'"):
            continue
        lineage = chain(stages, stage)
        c.check(lineage[-1].base == RUNTIME_BASE,
                f"{DOCKERFILE}: target {svc} is not built on {RUNTIME_BASE} (root: {lineage[-1].base})")
        c.check(all(s.name != "build" for s in lineage), f"{DOCKERFILE}: target {svc} inherits the build stage")
        exe = executables.get(svc)
        c.check(exe is not None, f"services/{svc}/CMakeLists.txt: no add_executable(crm-{svc})")
        copies = [shlex.split(a) for a in stage.args("COPY")]
        from_build = [a for a in copies if a and a[0] == "--from=build"]
        c.check(len(from_build) == 1 and from_build[0][1] == f"/out/{exe}",
                f"{DOCKERFILE}: target {svc} must copy exactly /out/{exe} from the build stage, copies {from_build}")
        entry = json_array(stage.args("ENTRYPOINT")[-1]) if stage.args("ENTRYPOINT") else None
        c.check(entry is not None and os.path.basename(entry[0]) == exe and
                from_build and from_build[0][-1] == entry[0],
                f"{DOCKERFILE}: target {svc}'s ENTRYPOINT {entry} is not the copied {exe}")
        users = [u for s in lineage for u in s.args("USER")][:1]
        c.check(users and users[0].split(":")[0] == NON_ROOT_UID,
                f"{DOCKERFILE}: target {svc} does not run as numeric uid {NON_ROOT_UID} (USER {users})")
        want_ports = {ports[svc]} | ({http_port} if svc == "gateway" else set())
        exposed = {int(p.split("/")[0]) for a in stage.args("EXPOSE") for p in a.split()}
        c.check(exposed == want_ports, f"{DOCKERFILE}: target {svc} exposes {sorted(exposed)}, expected {sorted(want_ports)}")
        env = " ".join(a for s in lineage for a in s.args("ENV"))
        c.check(f"CRM_LISTEN_ADDRESS=0.0.0.0:{ports[svc]}" in env,
                f"{DOCKERFILE}: target {svc} must listen on 0.0.0.0:{ports[svc]} (CRM_LISTEN_ADDRESS)")
        for var in re.findall(r"(CRM_\w+)=", env):
            c.check(var in facts.env_names(svc), f"{DOCKERFILE}: target {svc} sets {var}, not a flag of crm-{svc}")
        packages = [p for s in lineage for p in apt_packages(s)]
        for p in packages:
            c.check(not p.endswith("-dev") and p not in BUILD_ONLY_PACKAGES,
                    f"{DOCKERFILE}: target {svc} installs build-time package {p}")
        for s in lineage:
            for run in s.args("RUN"):
                if "apt-get install" in run:
                    c.check("--no-install-recommends" in run, f"{DOCKERFILE}: stage {s.name} installs recommends")
                    c.check("rm -rf /var/lib/apt/lists" in run, f"{DOCKERFILE}: stage {s.name} keeps the apt lists")
        check_runtime_libraries(c, svc, exe, packages)


def check_dockerignore(c, copied):
    rules = []
    for line in facts.read(".dockerignore").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rules.append((line.startswith("!"), line.lstrip("!").rstrip("/")))

    def matches(path, pattern):
        # Docker's rules: a pattern matching a folder matches all inside it;
        # a leading **/ matches at any depth.
        parts = path.split("/")
        if pattern.startswith("**/"):
            return any(matches("/".join(parts[i:]), pattern[3:]) for i in range(len(parts)))
        return any(fnmatch.fnmatchcase("/".join(parts[: i + 1]), pattern) for i in range(len(parts)))

    def excluded(path):
        result = False
        for negate, pattern in rules:  # the last matching rule wins
            if matches(path, pattern):
                result = not negate
        return result

    for path in copied:
        c.check(not excluded(path.rstrip("/")), f".dockerignore excludes {path}, which the build stage copies")
    for path in ("build", ".local", ".git", "deploy/compose/dev-keys/jwt-hs256.key", "helm/crm"):
        c.check(excluded(path), f".dockerignore lets {path} into the build context")


def check_runtime_libraries(c, svc, exe, packages):
    """Each NEEDED library of the built binary is owned by an installed package."""
    build_dir = os.environ.get("CRM_BUILD_DIR", os.path.join(REPO, "build"))
    binary = os.path.join(build_dir, "services", svc, exe)
    if not (os.path.exists(binary) and shutil.which("readelf") and shutil.which("dpkg-query")):
        c.note(f"{exe}: no build tree binary (or no readelf/dpkg); runtime libraries not checked")
        return
    out = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True).stdout
    needed = re.findall(r"\(NEEDED\).*\[(.+?)\]", out)
    closure, todo = set(), list(packages)
    while todo:
        p = todo.pop()
        if p not in closure:
            closure.add(p)
            todo.extend(package_depends(p))
    paths = library_paths(binary)
    for lib in needed:
        owner = owning_package_cached(paths[lib]) if lib in paths else None
        if owner is None:
            c.note(f"{exe}: cannot tell which package owns {lib}")
            continue
        c.check(owner in closure, f"{DOCKERFILE}: target {svc} lacks package {owner} (for {lib} of {exe})")


@functools.lru_cache(maxsize=None)
def package_depends(package):
    """The first alternative of each Depends/Pre-Depends of an installed package."""
    deps = subprocess.run(["dpkg-query", "-W", "-f=${Depends},${Pre-Depends}", package],
                          capture_output=True, text=True).stdout
    return [alt.strip().split("|")[0].split()[0].split(":")[0] for alt in deps.split(",") if alt.strip()]


@functools.lru_cache(maxsize=None)
def owning_package_cached(path):
    return owning_package(path)


def library_paths(binary):
    """{soname: resolved path} as the dynamic loader finds them (ldd does not run the binary's code)."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    return {m.group(1): os.path.realpath(m.group(2)) for m in re.finditer(r"^\s*(\S+) => (/\S+)", out, re.M)}


def owning_package(path):
    # Debian 12 merged /usr: a file may be registered under /lib or /usr/lib.
    candidates = [path, path.removeprefix("/usr")] if path.startswith("/usr/") else [path, "/usr" + path]
    for candidate in candidates:
        out = subprocess.run(["dpkg-query", "-S", candidate], capture_output=True, text=True).stdout
        for line in out.splitlines():
            package, _, owned = line.partition(": ")
            if owned == candidate:
                return package.split(":")[0]
    return None


# ---- compose -------------------------------------------------------------------

def check_compose(c, ports, http_port):
    text = facts.read(COMPOSE)
    compose = mini_yaml.load(text)
    try:
        import yaml  # optional oracle for the stdlib reader
        c.check(yaml.safe_load(text) == compose, f"{COMPOSE}: mini_yaml and PyYAML read it differently")
    except ImportError:
        pass
    services = compose.get("services", {})
    secrets = compose.get("secrets", {})
    dev_keys = dev_key_files(c)
    for secret, spec in secrets.items():
        c.check(os.path.basename(spec.get("file", "")) in dev_keys,
                f"{COMPOSE}: secret {secret} is not a file dev-keys.sh makes ({spec.get('file')})")

    db = services.get("mariadb", {})
    c.check(db.get("image") == "mariadb:10.11", f"{COMPOSE}: mariadb must use the official mariadb:10.11 image")
    health = " ".join(db.get("healthcheck", {}).get("test", []))
    c.check("healthcheck.sh" in health, f"{COMPOSE}: mariadb health check must use the image's healthcheck.sh")
    c.check("MARIADB_ROOT_PASSWORD_FILE" in db.get("environment", {}) and
            "MARIADB_ROOT_PASSWORD" not in db.get("environment", {}),
            f"{COMPOSE}: the MariaDB root password must come from a file")
    initdb = facts.read("deploy/compose/initdb/10-crm-databases.sh")

    expected = {"mariadb"} | set(facts.services()) | {f"{s}-migrate" for s in facts.database_services()}
    c.check(set(services) == expected, f"{COMPOSE}: services {sorted(services)}, expected {sorted(expected)}")

    for svc in facts.services():
        spec = services.get(svc)
        if not c.check(spec is not None, f"{COMPOSE}: no service {svc}"):
            continue
        names = facts.env_names(svc)
        check_compose_container(c, svc, svc, spec, names, secrets, dev_keys)
        env = spec.get("environment", {})
        c.check(env.get("CRM_LISTEN_ADDRESS") == f"0.0.0.0:{ports[svc]}",
                f"{COMPOSE}: {svc} CRM_LISTEN_ADDRESS {env.get('CRM_LISTEN_ADDRESS')}, expected 0.0.0.0:{ports[svc]}")
        want = {ports[svc]} | ({http_port} if svc == "gateway" else set())
        published = {int(str(p).split(":")[-1]) for p in spec.get("ports", [])}
        c.check(published == want, f"{COMPOSE}: {svc} publishes container ports {sorted(published)}, expected {sorted(want)}")
        if svc == "gateway":
            c.check(env.get("CRM_HTTP_LISTEN_ADDRESS") == f"0.0.0.0:{http_port}",
                    f"{COMPOSE}: gateway CRM_HTTP_LISTEN_ADDRESS must be 0.0.0.0:{http_port}")
        # Every peer flag the service has is set, to the peer's compose name and port.
        for peer in facts.services():
            var = f"CRM_{peer.upper()}_ADDRESS"
            if var in names:
                c.check(env.get(var) == f"{peer}:{ports[peer]}",
                        f"{COMPOSE}: {svc} {var}={env.get(var)}, expected {peer}:{ports[peer]}")
                c.check(peer in spec.get("depends_on", {}), f"{COMPOSE}: {svc} calls {peer} but does not depend on it")
        c.check(spec.get("build", {}).get("target") == svc and
                spec.get("build", {}).get("dockerfile") == DOCKERFILE,
                f"{COMPOSE}: {svc} must build target {svc} of {DOCKERFILE}")
        c.check(os.path.normpath(os.path.join(os.path.dirname(COMPOSE), spec.get("build", {}).get("context", "?"))) == ".",
                f"{COMPOSE}: {svc}'s build context must be the repository root")

        if svc in facts.database_services():
            job_name = f"{svc}-migrate"
            job = services.get(job_name)
            if not c.check(job is not None, f"{COMPOSE}: {svc} has no migration job {job_name}"):
                continue
            check_compose_container(c, svc, job_name, job, names, secrets, dev_keys)
            c.check(job.get("command") == ["--migrate_only"], f"{COMPOSE}: {job_name} must run --migrate_only")
            c.check("migrate_only" in facts.flags(svc), f"crm-{svc} has no --migrate_only flag (the migration job needs it)")
            c.check(job.get("image") == spec.get("image"), f"{COMPOSE}: {job_name} must use {svc}'s image")
            c.check(job.get("restart") == "no", f"{COMPOSE}: {job_name} must not restart")
            c.check(job.get("depends_on", {}).get("mariadb", {}).get("condition") == "service_healthy",
                    f"{COMPOSE}: {job_name} must wait for a healthy mariadb")
            c.check(spec.get("depends_on", {}).get(job_name, {}).get("condition") == "service_completed_successfully",
                    f"{COMPOSE}: {svc} must wait for {job_name} (service_completed_successfully)")
            for var in ("CRM_DB_HOST", "CRM_DB_USER", "CRM_DB_NAME", "CRM_DB_PASSWORD_FILE"):
                c.check(env.get(var) == job.get("environment", {}).get(var),
                        f"{COMPOSE}: {svc} and {job_name} disagree on {var}")
            c.check(env.get("CRM_DB_HOST") == "mariadb", f"{COMPOSE}: {svc} CRM_DB_HOST must be mariadb")
            c.check(env.get("CRM_DB_USER") == f"crm_{svc}" and env.get("CRM_DB_NAME") == f"crm_{svc}",
                    f"{COMPOSE}: {svc} must use its own database and user crm_{svc}")
            secret = f"db-{svc}-password"
            c.check(env.get("CRM_DB_PASSWORD_FILE") == f"/run/secrets/{secret}",
                    f"{COMPOSE}: {svc} CRM_DB_PASSWORD_FILE must be /run/secrets/{secret}")
            c.check(secret in db.get("secrets", []), f"{COMPOSE}: mariadb does not get {secret} (initdb needs it)")
            c.check(f"/run/secrets/db-$svc-password" in initdb and re.search(rf"\b{svc}\b", initdb),
                    f"deploy/compose/initdb: does not create the database of {svc}")
        else:
            c.check(not any(k.startswith("CRM_DB_") for k in env), f"{COMPOSE}: {svc} owns no database but gets CRM_DB_*")


def check_compose_tls(c):
    """compose.tls.yaml: every service's TLS files are secrets made by dev-keys.sh --tls (run into a
    temporary folder), readable by the containers; mutual TLS except on the gateway's public ports."""
    import stat
    import tempfile
    text = facts.read(COMPOSE_TLS)
    tls = mini_yaml.load(text)
    try:
        import yaml
        c.check(yaml.safe_load(text) == tls, f"{COMPOSE_TLS}: mini_yaml and PyYAML read it differently")
    except ImportError:
        pass
    services, secrets = tls.get("services", {}), tls.get("secrets", {})
    c.check(set(services) == set(facts.services()), f"{COMPOSE_TLS}: services {sorted(services)}, expected the long-running ones")
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "dev-keys")
        run = subprocess.run(["bash", os.path.join(REPO, DEV_KEYS), "--tls"], capture_output=True, text=True,
                             env=dict(os.environ, CRM_DEV_KEYS_DIR=folder))
        if not c.check(run.returncode == 0, f"{DEV_KEYS} --tls failed: {run.stderr.strip()}"):
            return
        for svc in facts.services():
            env, mounted = services.get(svc, {}).get("environment", {}), services.get(svc, {}).get("secrets", [])
            calls = any(f"CRM_{p.upper()}_ADDRESS" in facts.env_names(svc) for p in facts.services())
            want = {"CRM_TLS_CERT_FILE": f"{svc}.crt", "CRM_TLS_KEY_FILE": f"{svc}.key", "CRM_TLS_CA_FILE": "ca.crt"}
            if svc != "gateway":
                want["CRM_TLS_CLIENT_CA_FILE"] = "ca.crt"
            if calls:
                want.update({"CRM_TLS_CLIENT_CERT_FILE": f"{svc}.crt", "CRM_TLS_CLIENT_KEY_FILE": f"{svc}.key"})
            c.check(set(env) == set(want), f"{COMPOSE_TLS}: {svc} sets {sorted(env)}, expected {sorted(want)}")
            for var, file in want.items():
                secret = str(env.get(var, "")).removeprefix("/run/secrets/")
                source = secrets.get(secret, {}).get("file", "")
                c.check(secret in mounted and source == f"./dev-keys/tls/{file}" and var in facts.env_names(svc),
                        f"{COMPOSE_TLS}: {svc} {var} must be the mounted secret of dev-keys/tls/{file}")
                path = os.path.join(folder, "tls", file)
                c.check(os.path.isfile(path) and stat.S_IMODE(os.stat(path).st_mode) & 0o004,
                        f"{DEV_KEYS} --tls: {file} missing or unreadable for the containers' user")
        ca_key = os.path.join(folder, "tls", "ca.key")
        c.check(os.path.isfile(ca_key) and stat.S_IMODE(os.stat(ca_key).st_mode) == 0o600,
                f"{DEV_KEYS} --tls: the CA key must stay mode 600")


def dev_key_files(c):
    """The files dev-keys.sh makes (run into a temporary folder), checked for modes and content."""
    import stat
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "dev-keys")
        run = subprocess.run(["bash", os.path.join(REPO, DEV_KEYS)], capture_output=True, text=True,
                             env=dict(os.environ, CRM_DEV_KEYS_DIR=folder))
        if not c.check(run.returncode == 0, f"{DEV_KEYS} failed: {run.stderr.strip()}"):
            return set()
        first = {}
        for name in os.listdir(folder):
            with open(os.path.join(folder, name), "rb") as f:
                first[name] = f.read()
            c.check(re.fullmatch(rb"[0-9a-f]{64}", first[name]) is not None,
                    f"{DEV_KEYS}: {name} is not 64 hex characters without a newline")
            mode = stat.S_IMODE(os.stat(os.path.join(folder, name)).st_mode)
            c.check(mode == 0o644, f"{DEV_KEYS}: {name} has mode {oct(mode)}; containers (uid 10001, 999) must read it")
        c.check(stat.S_IMODE(os.stat(folder).st_mode) == 0o700, f"{DEV_KEYS}: the folder must be mode 700")
        subprocess.run(["bash", os.path.join(REPO, DEV_KEYS)], capture_output=True,
                       env=dict(os.environ, CRM_DEV_KEYS_DIR=folder))
        for name, content in first.items():
            with open(os.path.join(folder, name), "rb") as f:
                c.check(f.read() == content, f"{DEV_KEYS}: a second run replaced {name}")
        return set(first)


def check_compose_container(c, svc, name, spec, names, secrets, dev_keys):
    env = spec.get("environment", {})
    c.check(isinstance(env, dict), f"{COMPOSE}: {name} environment must be a mapping")
    for var, value in env.items():
        c.check(var in names, f"{COMPOSE}: {name} sets {var}, which crm-{svc} does not read (no flag)")
        c.check(var != "CRM_DB_PASSWORD", f"{COMPOSE}: {name} passes the database password in the environment")
        c.check(isinstance(value, str), f"{COMPOSE}: {name} {var} must be a quoted string, is {value!r}")
        if var.endswith("_FILE"):
            secret = str(value).removeprefix("/run/secrets/")
            c.check(str(value).startswith("/run/secrets/") and secret in spec.get("secrets", []),
                    f"{COMPOSE}: {name} {var}={value} is not a mounted secret")
            source = secrets.get(secret, {}).get("file", "")
            c.check(source.startswith("./dev-keys/") and os.path.basename(source) in dev_keys,
                    f"{COMPOSE}: secret {secret} is not a dev-keys.sh file ({source})")
    c.check(str(spec.get("user", "")).split(":")[0] == NON_ROOT_UID, f"{COMPOSE}: {name} must run as uid {NON_ROOT_UID}")
    c.check(spec.get("read_only") is True, f"{COMPOSE}: {name} must have a read-only root file system")
    c.check("ALL" in spec.get("cap_drop", []), f"{COMPOSE}: {name} must drop all capabilities")
    c.check(("CRM_JWT_HS256_KEY_FILE" in env) != ("CRM_JWT_RS256_PUBLIC_KEY_FILE" in env),
            f"{COMPOSE}: {name} needs exactly one JWT key file")


def check_dev_keys(c):
    ignore = facts.read("deploy/compose/.gitignore")
    c.check("dev-keys/" in ignore, "deploy/compose/.gitignore must ignore dev-keys/")
    if shutil.which("git") and os.path.isdir(os.path.join(REPO, ".git")):
        tracked = subprocess.run(["git", "-C", REPO, "ls-files", "deploy/compose/dev-keys"],
                                 capture_output=True, text=True).stdout.strip()
        c.check(tracked == "", f"keys are committed: {tracked}")


# ---- Helm values (the rendered chart is tests/helm/check_chart.sh's) ------------

def check_values(c, ports, http_port, path):
    values = mini_yaml.load(facts.read(path))
    try:
        import yaml
        c.check(yaml.safe_load(facts.read(path)) == values, f"{path}: mini_yaml and PyYAML read it differently")
    except ImportError:
        pass
    for var in (values.get("env") or {}):
        c.check(all(var in facts.env_names(s) for s in facts.services()) and var != "CRM_DB_PASSWORD",
                f"{path}: env.{var} (for every service) is not a flag of every service")
    for svc in facts.services():
        block = values.get(svc)
        if not c.check(isinstance(block, dict), f"{path}: no block for {svc}"):
            continue
        c.check(block.get("port") == ports[svc], f"{path}: {svc}.port {block.get('port')}, expected {ports[svc]}")
        if svc == "gateway":
            c.check(block.get("httpPort") == http_port, f"{path}: gateway.httpPort must be {http_port}")
        for var in (block.get("env") or {}):
            c.check(var in facts.env_names(svc) and var != "CRM_DB_PASSWORD",
                    f"{path}: {svc}.env.{var} is not a flag of crm-{svc}")
        c.check(("database" in block) == (svc in facts.database_services()),
                f"{path}: {svc} database block must exist exactly when it owns a database")
        c.check(block.get("image", {}).get("repository", "").endswith(svc),
                f"{path}: {svc}.image.repository should be the {svc} image")


def main():
    c = Checks()
    ports, http_port = facts.ports()
    c.check(set(ports) == set(facts.services()), f"run.sh ports {sorted(ports)} vs services.list {facts.services()}")
    executables = facts.executables()
    check_dockerfile(c, ports, http_port, executables)
    check_compose(c, ports, http_port)
    check_compose_tls(c)
    check_dev_keys(c)
    for path in VALUES_FILES:
        check_values(c, ports, http_port, path)
    print(f"check_deploy: {c.passed} passed, {len(c.failed)} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
