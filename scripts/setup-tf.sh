#!/usr/bin/env bash
# setup-tf.sh — give @tensorflow/tfjs-node its native TensorFlow backend without
# the package's install-time download (its download host is not a package registry).
#
# Usage: setup-tf.sh PROJECT_DIR CACHE_DIR
#   PROJECT_DIR  dir whose node_modules holds @tensorflow/tfjs-node, installed
#                with `npm install --ignore-scripts` / `npm ci --ignore-scripts`
#   CACHE_DIR    persistent cache: the PyPI wheel + the few files extracted
#                from it (kept so a re-setup after `npm ci` is ~seconds)
# Env overrides: TF_WHEEL_VERSION / TF_WHEEL_SHA256 (pair), NODE_GYP (path to
#   node-gyp.js), NODE_DIR (node headers dir prefix, default from npm/node),
#   SETUP_TF_FORCE=1 (rebuild even if stamp matches).
#
# Source of libtensorflow: PyPI tensorflow-cpu (cp311 manylinux2014 x86_64).
# Its tensorflow/libtensorflow_cc.so.2 exports the whole TF C + eager C API
# (TF_*, TFE_*), tensorflow/libtensorflow_framework.so.2 is its dependency, and
# tensorflow/include/ has the C headers. Linux x86_64 only.
set -euo pipefail

PROJECT_DIR=$(cd "${1:?usage: setup-tf.sh PROJECT_DIR CACHE_DIR}" && pwd)
CACHE_DIR=${2:?usage: setup-tf.sh PROJECT_DIR CACHE_DIR}
mkdir -p "$CACHE_DIR"; CACHE_DIR=$(cd "$CACHE_DIR" && pwd)

TF_VERSION=${TF_WHEEL_VERSION:-2.18.1}
if [[ -n "${TF_WHEEL_SHA256:-}" ]]; then
  TF_SHA256=$TF_WHEEL_SHA256
else
  case "$TF_VERSION" in
    2.18.1) TF_SHA256=810c75d7149d2da0cb2092187817b0dcabb80728ca9f9cf3a61f3f42fadd1298 ;;
    2.18.0) TF_SHA256=089e71746960ea581dca53401f84b3b99c8537313e337a9e5dbf97036a936f7e ;;
    *) echo "setup-tf: no pinned sha256 for tensorflow-cpu $TF_VERSION; set TF_WHEEL_SHA256" >&2; exit 2 ;;
  esac
fi
WHEEL="tensorflow_cpu-${TF_VERSION}-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"

log() { echo "setup-tf: $*" >&2; }
[[ "$(uname -s)-$(uname -m)" == Linux-x86_64 ]] || { log "only Linux x86_64 is supported"; exit 2; }

PKG="$PROJECT_DIR/node_modules/@tensorflow/tfjs-node"
[[ -f "$PKG/package.json" ]] || { log "missing $PKG (npm install --ignore-scripts first)"; exit 2; }
TFJS_NODE_VERSION=$(node -p "require('$PKG/package.json').version")

# Where node-pre-gyp (used by tfjs-node at require time) will look for the addon:
# <pkg>/lib/napi-v<best napi version>/tfjs_binding.node  (napi-v8 on Node 20).
BINDING=$(cd "$PKG" && node -p "require('@mapbox/node-pre-gyp').find(require('path').resolve('package.json'))")
MODULE_PATH=$(dirname "$BINDING")
NAPI_BUILD_VERSION=${MODULE_PATH##*napi-v}

NODE_ABI="node-$(node -p process.version)-napi${NAPI_BUILD_VERSION}"
STAMP_TEXT="tensorflow-cpu=$TF_VERSION sha256=$TF_SHA256 tfjs-node=$TFJS_NODE_VERSION $NODE_ABI"
STAMP="$PKG/deps/.setup-tf-stamp"

verify() {
  (cd "$PROJECT_DIR" && env -u LD_LIBRARY_PATH TF_CPP_MIN_LOG_LEVEL=2 node -e "
    const tf = require('@tensorflow/tfjs-node');
    if (tf.getBackend() !== 'tensorflow') throw new Error('backend is ' + tf.getBackend());
    const v = tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()[0];
    if (v !== 11) throw new Error('matmul gave ' + v);
    console.error('setup-tf: ok, backend=tensorflow, libtensorflow ' + tf.backend().binding.TF_Version);
  ")
}

if [[ -z "${SETUP_TF_FORCE:-}" && -f "$STAMP" && "$(cat "$STAMP")" == "$STAMP_TEXT" \
      && -f "$BINDING" && -f "$PKG/deps/lib/libtensorflow_cc.so.2" ]]; then
  log "already set up ($STAMP_TEXT); verifying"
  verify
  exit 0
fi

exec 9>"$CACHE_DIR/.setup-tf.lock"
flock 9   # serialise concurrent runs sharing a cache

# ---- 1. wheel (download once, always check sha256) -------------------------
sha_ok() { [[ -f "$1" ]] && echo "$TF_SHA256  $1" | sha256sum -c --status; }
if ! sha_ok "$CACHE_DIR/$WHEEL"; then
  rm -f "$CACHE_DIR/$WHEEL"
  log "downloading tensorflow-cpu==$TF_VERSION wheel into $CACHE_DIR"
  python3 -m pip download --no-deps --disable-pip-version-check "tensorflow-cpu==$TF_VERSION" \
    --python-version 3.11 --implementation cp --abi cp311 --only-binary=:all: \
    --platform manylinux2014_x86_64 -d "$CACHE_DIR" >&2
  sha_ok "$CACHE_DIR/$WHEEL" || { log "sha256 mismatch for $WHEEL (want $TF_SHA256)"; exit 3; }
fi

# ---- 2. extract only what is needed (once per wheel) -----------------------
EXTRACT="$CACHE_DIR/extracted-tensorflow-cpu-$TF_VERSION-${TF_SHA256:0:12}"
if [[ ! -f "$EXTRACT/.complete" ]]; then
  log "extracting libs + C headers from $WHEEL"
  rm -rf "$EXTRACT" "$EXTRACT.tmp"; mkdir -p "$EXTRACT.tmp"
  python3 - "$CACHE_DIR/$WHEEL" "$EXTRACT.tmp" <<'PY'
import sys, zipfile, os, shutil
whl, out = sys.argv[1], sys.argv[2]
libs = {'tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2'}
inc = 'tensorflow/include/'
# C API headers + the few non-C-API headers they (and tfjs_backend.cc) include.
inc_prefixes = ('tensorflow/c/', 'xla/tsl/c/',
                'tensorflow/core/platform/ctstring', 'tsl/platform/ctstring')
n = 0
with zipfile.ZipFile(whl) as z:
    for info in z.infolist():
        name = info.filename
        if name in libs:
            dest = os.path.join(out, 'lib', os.path.basename(name))
        elif name.startswith(inc) and name[len(inc):].startswith(inc_prefixes) and name.endswith('.h'):
            dest = os.path.join(out, 'include', name[len(inc):])
        else:
            continue
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with z.open(info) as src, open(dest, 'wb') as dst:
            shutil.copyfileobj(src, dst, 16 << 20)
        n += 1
missing = [l for l in libs if not os.path.exists(os.path.join(out, 'lib', os.path.basename(l)))]
if missing: sys.exit('missing in wheel: %s' % missing)
print('extracted %d files' % n, file=sys.stderr)
PY
  chmod 0755 "$EXTRACT.tmp"/lib/*.so.2
  touch "$EXTRACT.tmp/.complete"
  mv "$EXTRACT.tmp" "$EXTRACT"
fi

# ---- 3. stage into the layout binding.gyp expects --------------------------
#  deps/lib/libtensorflow_cc.so.2         real file (DT_NEEDED soname)
#  deps/lib/libtensorflow_framework.so.2  real file (DT_NEEDED soname)
#  deps/lib/libtensorflow.so              -> libtensorflow_cc.so.2   (-ltensorflow at link time)
#  deps/lib/libtensorflow_framework.so    -> libtensorflow_framework.so.2 (-ltensorflow_framework)
#  deps/lib/libtensorflow.so.2            -> libtensorflow_cc.so.2   (conventional name)
#  deps/lib/libtensorflow.so.2.9.1        -> libtensorflow_cc.so.2   (scripts/install.js "already
#        downloaded" marker: an accidental `npm rebuild` then skips the libtensorflow download)
#  deps/include/tensorflow/c/...          C API headers (+ tsl ctstring, xla/tsl/c)
log "staging into $PKG/deps"
rm -rf "$PKG/deps.tmp"; mkdir -p "$PKG/deps.tmp"
# hardlink from the cache when on the same filesystem (instant, no extra disk), else copy
cp -al "$EXTRACT/lib" "$EXTRACT/include" "$PKG/deps.tmp/" 2>/dev/null || {
  rm -rf "$PKG/deps.tmp"; mkdir -p "$PKG/deps.tmp"
  cp -a "$EXTRACT/lib" "$EXTRACT/include" "$PKG/deps.tmp/"; }
( cd "$PKG/deps.tmp/lib"
  ln -sf libtensorflow_cc.so.2 libtensorflow.so
  ln -sf libtensorflow_cc.so.2 libtensorflow.so.2
  ln -sf libtensorflow_cc.so.2 libtensorflow.so.2.9.1
  ln -sf libtensorflow_framework.so.2 libtensorflow_framework.so )
rm -rf "$PKG/deps"; mv "$PKG/deps.tmp" "$PKG/deps"

# ---- 4. build the addon with node-gyp (npm's bundled one, local headers) ---
NODE_GYP=${NODE_GYP:-$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js}
[[ -f "$NODE_GYP" ]] || { log "node-gyp not found (set NODE_GYP)"; exit 2; }
if [[ -z "${NODE_DIR:-}" ]]; then
  NODE_DIR=$(npm config get nodedir 2>/dev/null || true)
  [[ -n "$NODE_DIR" && "$NODE_DIR" != undefined && "$NODE_DIR" != null ]] || \
    NODE_DIR=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
fi
[[ -f "$NODE_DIR/include/node/node_api.h" ]] || { log "no node headers under $NODE_DIR/include/node (set NODE_DIR)"; exit 2; }
log "building tfjs_binding (napi v$NAPI_BUILD_VERSION) with node-gyp, nodedir=$NODE_DIR"
( cd "$PKG" && node "$NODE_GYP" rebuild --nodedir="$NODE_DIR" --jobs="$(nproc)" \
    --module_name=tfjs_binding --module_path="$MODULE_PATH" \
    --napi_build_version="$NAPI_BUILD_VERSION" >&2 )
[[ -f "$BINDING" ]] || { log "build did not produce $BINDING"; exit 4; }

verify
echo "$STAMP_TEXT" > "$STAMP"
log "done: $BINDING"
