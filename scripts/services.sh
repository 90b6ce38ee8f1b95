#!/usr/bin/env bash
# Installs and starts what the test suite needs. Idempotent: safe to run again and again.
# - Debian packages: Python gRPC/HTTP interop peers (grpcio, grpc-tools, requests, flask),
#   python3-consul (a Consul client, judge of the hub's Consul API), h2load (nghttp2-client) for
#   the benchmarks; kcat (its mock cluster is the Kafka-protocol server of the Kafka adapter's
#   tests) and python3-kafka (kafka-python, judge of Kafka interop); python3-prometheus-client
#   (its text-format parser judges /metrics) and chromium (the dashboard's browser test, driven
#   by playwright-core).
# - ZooKeeper (Debian's zookeeper, on the machine's Java) on 127.0.0.1:2181 and etcd
#   (etcd-server) on 127.0.0.1:2379 for the discovery backends, started in the background when
#   nothing listens there yet. There is no systemd: they run detached, with data and logs under
#   /var/lib/switchboard/, until the machine stops.
set -euo pipefail

need_apt=()
/usr/bin/python3 -c 'import grpc, grpc_tools, requests, flask' 2>/dev/null || need_apt+=(python3-grpcio python3-grpc-tools python3-requests python3-flask)
/usr/bin/python3 -c 'import consul' 2>/dev/null || need_apt+=(python3-consul)
/usr/bin/python3 -c 'import kafka' 2>/dev/null || need_apt+=(python3-kafka)
/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null || need_apt+=(python3-prometheus-client)
command -v h2load >/dev/null 2>&1 || need_apt+=(nghttp2-client)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v kcat >/dev/null 2>&1 || need_apt+=(kcat)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
[ -f /usr/share/java/zookeeper.jar ] || need_apt+=(zookeeper)
command -v etcd >/dev/null 2>&1 || need_apt+=(etcd-server)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "services: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

/usr/bin/python3 -c 'import grpc, grpc_tools, requests, flask, consul, kafka, prometheus_client; print("services: python interop peers ready, grpcio", grpc.__version__)'

# --- ZooKeeper and etcd --------------------------------------------------------------------
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_port NAME PORT LOG: up to 30 s for the port to answer, else the log's tail and failure.
wait_port() {
  for _ in $(seq 300); do
    port_open "$2" && return 0
    sleep 0.1
  done
  echo "services: $1 did not start listening on 127.0.0.1:$2; the end of $3:" >&2
  tail -n 20 "$3" >&2 || true
  exit 1
}

state=/var/lib/switchboard
if port_open 2181; then
  echo "services: ZooKeeper already listening on 127.0.0.1:2181"
else
  mkdir -p "$state/zookeeper/data"
  # tickTime 500 ms: the server grants sessions from 1 s (2 ticks), which keeps lease tests fast.
  cat >"$state/zookeeper/zoo.cfg" <<EOF
tickTime=500
dataDir=$state/zookeeper/data
clientPortAddress=127.0.0.1
clientPort=2181
minSessionTimeout=1000
maxSessionTimeout=60000
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,stat,mntr
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
EOF
  echo "services: starting ZooKeeper on 127.0.0.1:2181"
  setsid nohup java -Xmx256m -cp /etc/zookeeper/conf:/usr/share/java/zookeeper.jar \
    org.apache.zookeeper.server.ZooKeeperServerMain "$state/zookeeper/zoo.cfg" \
    >"$state/zookeeper/server.log" 2>&1 </dev/null &
  wait_port ZooKeeper 2181 "$state/zookeeper/server.log"
  # The port opens before the server serves; "srvr" answers "Mode: standalone" once it does.
  serving=no
  for _ in $(seq 100); do
    answer=$( (exec 3<>/dev/tcp/127.0.0.1/2181 && printf srvr >&3 && timeout 1 cat <&3) 2>/dev/null || true)
    case "$answer" in *Mode:*) serving=yes && break ;; esac
    sleep 0.1
  done
  if [ "$serving" != yes ]; then
    echo "services: ZooKeeper listens on 127.0.0.1:2181 but does not serve; see $state/zookeeper/server.log" >&2
    exit 1
  fi
fi

if port_open 2379; then
  echo "services: etcd already listening on 127.0.0.1:2379"
else
  mkdir -p "$state/etcd"
  echo "services: starting etcd on 127.0.0.1:2379"
  setsid nohup etcd --name switchboard --data-dir "$state/etcd/data" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster switchboard=http://127.0.0.1:2380 --auto-compaction-retention=1 \
    >"$state/etcd/server.log" 2>&1 </dev/null &
  wait_port etcd 2379 "$state/etcd/server.log"
fi
