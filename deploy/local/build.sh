#!/usr/bin/env bash
# Installs missing Debian packages, then configures (once) and builds build/.
# Shared by deploy/local/run.sh, tests/run.sh and .ci/run. Builds are
# serialised with one machine-wide lock: two at once on 2 cores only thrash.
# Other trees: build.sh <dir> [-D<option>...] [cmake --build arguments...],
# e.g. `build.sh build-asan -DCRM_SANITIZE=address,undefined` (the -D options
# apply when <dir> is first configured).
set -euo pipefail

cd "$(dirname -- "$(realpath -- "${BASH_SOURCE[0]}")")/../.."

readonly BUILD_DIR=${1:-build}
shift $(($# > 0 ? 1 : 0))
configure_args=() build_args=()
for arg in "$@"; do
  if [[ $arg == -D* ]]; then configure_args+=("$arg"); else build_args+=("$arg"); fi
done
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
  with_build_lock cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${configure_args[@]}"
fi
with_build_lock cmake --build "$BUILD_DIR" "${build_args[@]}"
