#!/usr/bin/env bash
# Prepares a checkout on a fresh Debian machine: system packages, npm dependencies, the native
# modules (node-rdkafka with its bundled librdkafka, tfjs-node against TensorFlow from PyPI's
# wheel) and the compiled CLI. Idempotent and quick when nothing changed. Java jars and the
# Milvus venv are fetched by `towerflow infra up`, which needs them.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
HOME_DIR=${TOWERFLOW_HOME:-.towerflow}
case "$HOME_DIR" in /*) ;; *) HOME_DIR="$ROOT/$HOME_DIR" ;; esac
mkdir -p "$HOME_DIR/cache"
say() { echo "bootstrap: $*" >&2; }

# ---- prerequisites --------------------------------------------------------------------------
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[[ $node_major -ge 20 ]] || { say "Node.js 20+ is required (found: $(node --version 2>/dev/null || echo none))"; exit 2; }
command -v python3 >/dev/null || { say "python3 (3.9-3.11) is required for local Milvus and the TensorFlow wheel: apt-get install python3 python3-venv"; exit 2; }

# ---- Debian packages ------------------------------------------------------------------------
need=()
[[ -x /usr/bin/redis-server ]] || need+=(redis-server)
[[ -x /usr/bin/prometheus ]] || need+=(prometheus)
[[ -x /usr/bin/prometheus-redis-exporter ]] || need+=(prometheus-redis-exporter)
# node-rdkafka's bundled librdkafka links OpenSSL (TLS, SASL/SCRAM) and zlib
[[ -f /usr/include/openssl/ssl.h ]] || need+=(libssl-dev)
[[ -f /usr/include/zlib.h ]] || need+=(zlib1g-dev)
command -v mvn >/dev/null || need+=(maven)
# a JDK, not a JRE: infra/local/hbase/HbaseAdmin.java runs with Java's single-file source launcher
command -v javac >/dev/null || [[ -n "${TOWERFLOW_JAVA_HOME:-}${JAVA_HOME:-}" ]] || need+=(openjdk-17-jdk-headless)
command -v g++ >/dev/null || need+=(g++ make)
command -v thrift >/dev/null || need+=(thrift-compiler)
command -v unzip >/dev/null || need+=(unzip)
command -v socat >/dev/null || need+=(socat)
command -v ip >/dev/null || need+=(iproute2)
command -v pkg-config >/dev/null || need+=(pkg-config)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)   # setup-tf.sh downloads the wheel with pip
if [[ ${#need[@]} -gt 0 ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    say "missing Debian packages: ${need[*]}. Install them: sudo apt-get install -y ${need[*]}"; exit 2
  fi
  say "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends "${need[@]}" >&2
fi

# ---- npm dependencies (install scripts off: see .npmrc) ------------------------------------
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f node_modules/.towerflow-lock && -d node_modules ]] || [[ "$(cat node_modules/.towerflow-lock 2>/dev/null)" != "$lock_sum" ]]; then
  say "npm ci"
  npm ci --no-audit --no-fund >&2
  echo "$lock_sum" > node_modules/.towerflow-lock
fi

# ---- native modules -------------------------------------------------------------------------
bash scripts/setup-rdkafka.sh "$ROOT"
bash scripts/setup-tf.sh "$ROOT" "$HOME_DIR/cache/tensorflow"
bash scripts/gen-hbase-thrift.sh "$ROOT" "$HOME_DIR/cache"

# ---- compile --------------------------------------------------------------------------------
say "compiling TypeScript"
npx tsc -p tsconfig.json
say "ready"
