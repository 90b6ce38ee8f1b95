#!/usr/bin/env bash
# Installs and starts what the test suite needs. Idempotent: safe to run again and again.
# - Debian packages: Python gRPC/HTTP interop peers (grpcio, grpc-tools, requests, flask),
#   python3-consul (a Consul client, judge of the hub's Consul API), h2load (nghttp2-client) for
#   the benchmarks.
# - Nothing else yet: the foundation talks to its own servers and to these peers only.
set -euo pipefail

need_apt=()
/usr/bin/python3 -c 'import grpc, grpc_tools, requests, flask' 2>/dev/null || need_apt+=(python3-grpcio python3-grpc-tools python3-requests python3-flask)
/usr/bin/python3 -c 'import consul' 2>/dev/null || need_apt+=(python3-consul)
command -v h2load >/dev/null 2>&1 || need_apt+=(nghttp2-client)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "services: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

/usr/bin/python3 -c 'import grpc, grpc_tools, requests, flask, consul; print("services: python interop peers ready, grpcio", grpc.__version__)'
