#!/usr/bin/env bash
# Generates the HBase Thrift2 client stubs (JS + .d.ts) from the IDL shipped inside the
# hbase-thrift jar, with Debian's thrift-compiler. Output: clients/hbase/gen/ (ignored by git).
set -euo pipefail
ROOT=${1:-$(cd "$(dirname "$0")/.." && pwd)}
CACHE=${2:-$ROOT/.towerflow/cache}
GATEWAY_VERSION=$(sed -n "s/.*HBASE_GATEWAY_VERSION = '\(.*\)'.*/\1/p" "$ROOT/infra/local/hbase-versions.ts")
OUT=$ROOT/clients/hbase/gen
STAMP="hbase-thrift=$GATEWAY_VERSION thrift=$(thrift --version 2>/dev/null || echo none)"
[[ -f $OUT/.stamp && "$(cat "$OUT/.stamp")" == "$STAMP" ]] && exit 0
command -v thrift >/dev/null || { echo "gen-hbase-thrift: thrift compiler missing: apt-get install thrift-compiler" >&2; exit 2; }
JAR_DIR=$CACHE/hbase-thrift-idl
mkdir -p "$JAR_DIR"
JAR=$JAR_DIR/hbase-thrift-$GATEWAY_VERSION.jar
if [[ ! -f $JAR ]]; then
  echo "gen-hbase-thrift: fetching org.apache.hbase:hbase-thrift:$GATEWAY_VERSION (IDL only)" >&2
  mvn -B -q dependency:copy -Dartifact="org.apache.hbase:hbase-thrift:$GATEWAY_VERSION" -DoutputDirectory="$JAR_DIR" -Dmdep.stripVersion=false >&2
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
unzip -o -q -j "$JAR" org/apache/hadoop/hbase/thrift2/hbase.thrift -d "$TMP"
mkdir -p "$TMP/gen"
thrift --gen js:node,ts -out "$TMP/gen" "$TMP/hbase.thrift"
# thrift-compiler 0.17 emits `thrift.Q` deferreds; npm thrift >= 0.19 no longer exports Q: a native-Promise shim.
sed -i 's/^var Q = thrift.Q;$/var Q = { defer: function () { var d = {}; d.promise = new Promise(function (a, b) { d.resolve = a; d.reject = b; }); return d; } };/' "$TMP/gen/THBaseService.js"
grep -q 'var Q = { defer' "$TMP/gen/THBaseService.js" || { echo "gen-hbase-thrift: could not patch thrift.Q" >&2; exit 3; }
# CommonJS stubs inside an ES-module package
echo '{"type":"commonjs"}' > "$TMP/gen/package.json"
rm -rf "$OUT"; mkdir -p "$(dirname "$OUT")"; mv "$TMP/gen" "$OUT"
echo "$STAMP" > "$OUT/.stamp"
echo "gen-hbase-thrift: stubs in $OUT" >&2
