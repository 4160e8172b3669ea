#!/usr/bin/env bash
# Builds node-rdkafka's addon with its bundled librdkafka (BUILD_LIBRDKAFKA=1), linked against
# Debian's OpenSSL and zlib. Debian 12's own librdkafka (2.0.2) cannot authenticate with SCRAM
# to Kafka 4.x (fixed in librdkafka 2.6.1; docs/decisions.md, "Service credentials"). The build
# (~1.5 min on 2 cores) is cached per node-rdkafka and Node version under the user's cache, so a
# second checkout or a re-run of bootstrap copies it back in a second.
set -euo pipefail
ROOT=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$ROOT"
PKG=node_modules/node-rdkafka
[[ -f $PKG/package.json ]] || { echo "setup-rdkafka: $PKG missing (npm ci first)" >&2; exit 2; }
VERSION=$(node -p "require('./$PKG/package.json').version")
BUNDLED=$(node -p "require('./$PKG/package.json').librdkafka")
WANT="node-rdkafka=$VERSION node=$(node -p process.version) librdkafka=bundled-$BUNDLED openssl=$(pkg-config --modversion openssl)"
STAMP=$PKG/build/.towerflow-stamp
if [[ -f $STAMP && "$(cat "$STAMP")" == "$WANT" && -f $PKG/build/Release/node-librdkafka.node ]]; then
  exit 0
fi
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/towerflow/node-rdkafka/$(echo "$WANT" | sha256sum | cut -c1-16)
if [[ -f $CACHE/build/.towerflow-stamp && "$(cat "$CACHE/build/.towerflow-stamp")" == "$WANT" ]]; then
  echo "setup-rdkafka: node-rdkafka $VERSION with librdkafka $BUNDLED from the cache ($CACHE)" >&2
  rm -rf "$PKG/build"
  cp -a "$CACHE/build" "$PKG/build"
else
  echo "setup-rdkafka: building node-rdkafka $VERSION with its bundled librdkafka $BUNDLED (~1.5 min, once)" >&2
  NODEDIR=$(npm config get nodedir 2>/dev/null || true)
  [[ -n "$NODEDIR" && "$NODEDIR" != undefined && "$NODEDIR" != null ]] || NODEDIR=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
  # not in parallel: the addon's make would start before librdkafka's configure wrote config.h
  BUILD_LIBRDKAFKA=1 npm_config_nodedir="$NODEDIR" npm_config_jobs=1 npm rebuild node-rdkafka --ignore-scripts=false >&2
  # the examples, objects and static archives are not needed at run time
  rm -rf "$PKG/build/Release/obj.target" "$PKG/build/deps/"*.a "$PKG/build/deps/librdkafka"
  echo "$WANT" > "$STAMP"
  mkdir -p "$CACHE"
  rm -rf "$CACHE/build.tmp"
  cp -a "$PKG/build" "$CACHE/build.tmp"
  rm -rf "$CACHE/build"
  mv "$CACHE/build.tmp" "$CACHE/build"
fi
echo "$WANT" > "$STAMP"
node -e "const k=require('node-rdkafka'); if (!k.features.includes('sasl_scram')) throw new Error('node-rdkafka built without SCRAM: is libssl-dev installed?'); console.error('setup-rdkafka: ok, librdkafka ' + k.librdkafkaVersion)"
