#!/usr/bin/env python3
"""Passwords and keys only from files or the environment: every command-line
flag (ABSL_FLAG in the sources) whose name says password, secret, key or
token must name a file (end in _file), so that no secret shows in `ps` or in
a shell history. Prints the offenders and the number of flags checked.

The one flag allowed to carry a token value is crmctl's --token, the bearer
token of a client call (default $CRM_TOKEN, which the README uses).
"""

import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET_WORD = re.compile(r"(^|_)(password|passwd|secret|key|token)(_|$)")
FLAG = re.compile(r"ABSL_FLAG\(\s*[\w:<>]+\s*,\s*(\w+)\s*,")
ALLOWED = {("services/crmctl/main.cc", "token")}


def main():
    checked, offenders = 0, []
    for top in ("common", "services", "bench", "tests"):
        for root, _, names in os.walk(os.path.join(REPO, top)):
            for name in names:
                if not name.endswith(".cc"):
                    continue
                path = os.path.join(root, name)
                rel = os.path.relpath(path, REPO)
                for flag in FLAG.findall(open(path, encoding="utf-8").read()):
                    checked += 1
                    if SECRET_WORD.search(flag) and not flag.endswith("_file") and (rel, flag) not in ALLOWED:
                        offenders.append(f"{rel}: --{flag} takes a secret value; read it from a file (--{flag}_file)")
    for line in offenders:
        print(line)
    print(f"check_secret_flags: {checked} flags checked, {len(offenders)} take a secret value")
    # Fewer than this means the scan itself broke (a moved folder, a new macro).
    return 1 if offenders or checked < 50 else 0


if __name__ == "__main__":
    sys.exit(main())
