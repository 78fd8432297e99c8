"""What the sources say about each service, for the deployment checks.

Facts come from the code and the local runner, never from the deployment
files being checked: the service list (deploy/local/services.list), ports
(deploy/local/run.sh), binaries (add_executable in services/<svc>/), which
services own a database (services/<svc>/schema/), and each binary's flags
(ABSL_FLAG in common/server, the service's main.cc, and common/calendar when
main.cc includes its flags header). A flag --x is the variable CRM_X
(common/config/config.cc).
"""

import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Variables the binaries read that are not flags (common/server/service_config.cc).
ENV_ONLY = {"CRM_DB_PASSWORD"}

_FLAG = re.compile(r"ABSL_FLAG\(\s*[\w:<>]+\s*,\s*(\w+)\s*,")


def read(path):
    with open(os.path.join(REPO, path), encoding="utf-8") as f:
        return f.read()


def services():
    lines = read("deploy/local/services.list").splitlines()
    return [l.strip() for l in lines if l.strip() and not l.strip().startswith("#")]


def database_services():
    return [s for s in services() if os.path.isdir(os.path.join(REPO, "services", s, "schema"))]


def ports():
    """{service: gRPC port} from run.sh's DEFAULT_PORTS, plus the gateway's HTTP port."""
    text = read("deploy/local/run.sh")
    block = re.search(r"DEFAULT_PORTS=\((.*?)\)", text, re.S)
    if not block:
        raise AssertionError("deploy/local/run.sh: no DEFAULT_PORTS table")
    result = {name: int(port) for name, port in re.findall(r"\[(\w+)\]=(\d+)", block.group(1))}
    http = re.search(r"DEFAULT_GATEWAY_HTTP_PORT=(\d+)", text)
    if not http:
        raise AssertionError("deploy/local/run.sh: no DEFAULT_GATEWAY_HTTP_PORT")
    return result, int(http.group(1))


def executables():
    """{service: executable target} from add_executable in services/<svc>/CMakeLists.txt."""
    result = {}
    for svc in services():
        text = read(f"services/{svc}/CMakeLists.txt")
        names = re.findall(r"add_executable\(\s*([\w-]+)", text)
        if f"crm-{svc}" in names:
            result[svc] = f"crm-{svc}"
    return result


def flags_in(path):
    return set(_FLAG.findall(read(path)))


def flags(svc):
    """The flags of crm-<svc> as far as the sources tell."""
    main = read(f"services/{svc}/src/main.cc")
    result = set(_FLAG.findall(main))
    for path in sorted(os.listdir(os.path.join(REPO, "common/server"))):
        if path.endswith(".cc") and not path.endswith("_test.cc"):
            result |= flags_in(f"common/server/{path}")
    if '#include "common/calendar/calendar_flags.h"' in main:
        result |= flags_in("common/calendar/calendar_flags.cc")
    return result


def env_names(svc):
    return {"CRM_" + f.upper() for f in flags(svc)} | ENV_ONLY
