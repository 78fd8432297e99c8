#!/usr/bin/env bash
# README command 2, "run the tests": build, then run CTest. Extra arguments go
# to ctest, e.g. `tests/run.sh -L unit` or `tests/run.sh -R customers`.
# Needs no running service: integration and e2e tests share a throw-away
# MariaDB that the CTest fixture (tests/CMakeLists.txt) starts and removes.
set -euo pipefail

cd "$(dirname -- "$(realpath -- "${BASH_SOURCE[0]}")")/.."

bash deploy/local/build.sh
# The libFuzzer binaries (clang, their own tree) that the fuzz-labelled tests
# run for a short while; see tests/fuzz/README.md.
bash deploy/local/build.sh build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCRM_FUZZ=ON --target crm_fuzz_targets
exec ctest --test-dir build --output-on-failure "$@"
