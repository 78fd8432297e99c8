#!/usr/bin/env bash
# Installs the Debian 12 packages this project needs, only those missing.
# Called by deploy/local/run.sh, tests/run.sh and .ci/run; safe to run again.
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config
  # libFuzzer targets (tests/fuzz): clang 14 and its runtimes (-fsanitize=fuzzer,address,undefined)
  clang libclang-rt-14-dev
  # gRPC + protobuf (compiler, C++ runtime, gRPC plugin, reflection)
  libgrpc++-dev protobuf-compiler protobuf-compiler-grpc libprotobuf-dev
  # abseil (status, flags, strings, time, synchronization)
  libabsl-dev
  # MySQL Connector/C++ 1.1 (JDBC-style cppconn API); the MariaDB server
  # binaries only (mariadb-server would also enable and start Debian's system
  # MariaDB service) and the client tools the scripts use
  libmysqlcppconn-dev mariadb-server-core mariadb-client
  # JWT verification and signing
  libjwt-dev libssl-dev
  # HTTP server and client of the gateway's HTTP/JSON front
  libcpp-httplib-dev
  # tests and benchmarks (curl: an e2e test reads one HTTP route with it;
  # openssl: dev-certs.sh makes the TLS tests' certificates)
  libgtest-dev libgmock-dev libbenchmark-dev python3-icalendar curl openssl
  # ss: the scripts check whether a port is taken
  iproute2
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
