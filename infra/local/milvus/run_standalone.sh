#!/usr/bin/env bash
# Milvus 2.3 standalone listens on every interface and cannot be told otherwise, so it runs in
# a private network namespace that has only `lo`; socat bridges 127.0.0.1:PORT of the host to
# the namespace through a Unix socket. Both TCP legs set `nodelay`: without it Nagle's
# algorithm meets delayed ACKs and a lone small gRPC frame waits ~40 ms (search p99 49 ms → 13–20 ms).
# The metrics port (9091 inside: /metrics, /healthz) is bridged the same way to METRICS_PORT.
# This script ends by exec'ing (unshare → bash → python → milvus, each an exec) so that its pid,
# which towerflow's pid file records, is the server's: `infra status`/`up` check the server
# itself, not a launcher. The bridges share its process group, which `infra down` signals as a
# whole and which `infra up` ends when the server died (their ports would stay taken).
# usage: run_standalone.sh PYTHON DATA_DIR PORT BIND_HOST METRICS_PORT
set -euo pipefail
PY=$1 DATA=$2 PORT=$3 BIND=$4 METRICS_PORT=$5
HERE=$(cd "$(dirname "$0")" && pwd)
SOCK=$DATA/grpc.sock
MSOCK=$DATA/metrics.sock
mkdir -p "$DATA"
rm -f "$SOCK" "$MSOCK"
# the host side connects to the Unix socket per accepted connection, so it may start first: a
# connection before the namespace side listens is refused, and the health check tries again
socat TCP-LISTEN:"$PORT",bind="$BIND",fork,reuseaddr,nodelay UNIX-CONNECT:"$SOCK" &
socat TCP-LISTEN:"$METRICS_PORT",bind="$BIND",fork,reuseaddr UNIX-CONNECT:"$MSOCK" &
exec unshare --net bash -c '
  set -e
  ip link set lo up
  socat UNIX-LISTEN:"$0",fork,unlink-early TCP:127.0.0.1:"$1",nodelay &
  socat UNIX-LISTEN:"$5",fork,unlink-early TCP:127.0.0.1:9091 &
  exec "$2" "$3/launch_standalone.py" "$4" "$1"
' "$SOCK" "$PORT" "$PY" "$HERE" "$DATA" "$MSOCK"
