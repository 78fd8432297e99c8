#!/usr/bin/env bash
# The short libFuzzer run of one target (CTest, label fuzz; see README.md).
# usage: run_fuzzer.sh <libFuzzer binary> <work dir> <libFuzzer flags...> -- <seed dirs...>
# New inputs go to <work dir>/corpus (kept between runs, so each run goes on
# from the last), crashes to <work dir>/crash-*; the seed dirs are only read.
# Exit 77 (CTest: skipped) when the fuzzing build has not been made.
set -euo pipefail

binary=$1 work=$2
shift 2
flags=()
while [[ $# -gt 0 && $1 != -- ]]; do flags+=("$1"); shift; done
shift || true

if [[ ! -x $binary ]]; then
  echo "no fuzzing build at $binary: tests/fuzz/build.sh makes it (tests/run.sh calls it)" >&2
  exit 77
fi
mkdir -p "$work/corpus"
# -timeout: one input taking longer than 10 s is a hang; -rss_limit_mb: a
# leak or a blow-up is a finding too.
exec "$binary" -error_exitcode=1 -timeout_exitcode=1 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/" \
  "${flags[@]}" "$work/corpus" "$@"
