#!/usr/bin/env bash
# Builds node-rdkafka's addon against Debian's librdkafka (librdkafka-dev) instead of its
# bundled copy: BUILD_LIBRDKAFKA=0 links the system library and builds in under a minute.
set -euo pipefail
ROOT=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$ROOT"
PKG=node_modules/node-rdkafka
[[ -f $PKG/package.json ]] || { echo "setup-rdkafka: $PKG missing (npm ci first)" >&2; exit 2; }
STAMP=$PKG/build/.towerflow-stamp
WANT="node-rdkafka=$(node -p "require('./$PKG/package.json').version") node=$(node -p process.version) librdkafka=$(pkg-config --modversion rdkafka 2>/dev/null || dpkg-query -W -f='${Version}' librdkafka-dev)"
if [[ -f $STAMP && "$(cat "$STAMP")" == "$WANT" && -f $PKG/build/Release/node-librdkafka.node ]]; then
  exit 0
fi
echo "setup-rdkafka: building node-rdkafka against the system librdkafka" >&2
NODEDIR=$(npm config get nodedir 2>/dev/null || true)
[[ -n "$NODEDIR" && "$NODEDIR" != undefined && "$NODEDIR" != null ]] || NODEDIR=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
BUILD_LIBRDKAFKA=0 npm_config_nodedir="$NODEDIR" npm rebuild node-rdkafka --ignore-scripts=false >&2
node -e "const k=require('node-rdkafka'); console.error('setup-rdkafka: ok, librdkafka ' + k.librdkafkaVersion)"
echo "$WANT" > "$STAMP"
