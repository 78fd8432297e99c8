#!/usr/bin/env bash
# Installs missing Debian packages, then configures (once) and builds build/.
# Shared by deploy/local/run.sh and tests/run.sh. Builds are serialised with
# one machine-wide lock: two at once on 2 cores only thrash.
set -euo pipefail

cd "$(dirname -- "$(realpath -- "${BASH_SOURCE[0]}")")/../.."

readonly BUILD_DIR=build
readonly BUILD_LOCK=/tmp/crm-build.lock

bash deploy/install-deps.sh

with_build_lock() {
  if ! flock -n "$BUILD_LOCK" true; then
    echo "build.sh: another build holds $BUILD_LOCK; waiting for it" >&2
  fi
  flock "$BUILD_LOCK" "$@"
}

# build.ninja, not CMakeCache.txt: a failed configure leaves the cache behind.
# Once configured, the build itself re-runs cmake when CMakeLists change.
if [[ ! -f $BUILD_DIR/build.ninja ]]; then
  with_build_lock cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
with_build_lock cmake --build "$BUILD_DIR"
