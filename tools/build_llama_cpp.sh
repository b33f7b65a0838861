#!/usr/bin/env bash
# Builds llama.cpp's llama-mtmd-cli, llama-bench and llama-tokenize (CPU only) from the llama.cpp source that the
# newest llama-cpp-python sdist on PyPI vendors, and makes a Python venv that runs that source's own
# convert_hf_to_gguf.py (with --mmproj). Everything lives outside the repo, under
# ${VLM_LLAMA_CPP_HOME:-~/.cache/vlm/llama.cpp}; nothing of llama.cpp is copied into the repo.
#
#   tools/build_llama_cpp.sh              # idempotent: a second run only re-checks
#   LLAMA_CPP_PYTHON_VERSION=0.3.36 tools/build_llama_cpp.sh   # pin the sdist instead of "newest"
#
# llama-cli is not built: in this llama.cpp it links llama-server-impl (tools/cli/CMakeLists.txt),
# i.e. the whole server, which is not cheap on 2 cores; llama-mtmd-cli is what the checks use.
# Heavy steps (pip installs, the cmake build) take the shared lock /tmp/vlm-build.lock themselves
# (flock), so do NOT wrap this script in that same flock: it would wait on itself.
# Prints the binaries, the venv python and the converter at the end (also written, as shell
# assignments, to $HOME_DIR/paths.env for other scripts to source).
set -euo pipefail

HOME_DIR=${VLM_LLAMA_CPP_HOME:-$HOME/.cache/vlm/llama.cpp}
LOCK=${VLM_BUILD_LOCK:-/tmp/vlm-build.lock}
JOBS=${JOBS:-2}
for a in "$@"; do
  case "$a" in
    -h|--help) sed -n 2,16p "$0"; exit 0 ;;
    *) echo "unknown argument: $a" >&2; exit 2 ;;
  esac
done
mkdir -p "$HOME_DIR/dl" "$HOME_DIR/src"
log() { printf '[build_llama_cpp] %s\n' "$*" >&2; }
locked() { flock "$LOCK" "$@"; }

# --- 1. the sdist --------------------------------------------------------------------------------
# `pip download --no-binary :all:` would also build the sdist's *build* dependencies (cmake, ninja)
# from source just to read its metadata (tens of minutes); --no-binary llama-cpp-python takes only
# this package as source and its build backend as wheels.
VERSION=${LLAMA_CPP_PYTHON_VERSION:-}
if [ -z "$VERSION" ]; then
  VERSION=$(pip index versions llama-cpp-python 2>/dev/null | sed -n 's/^llama-cpp-python (\(.*\))$/\1/p' | head -1 || true)
fi
SDIST=""
[ -n "$VERSION" ] && SDIST=$(ls "$HOME_DIR/dl/llama_cpp_python-$VERSION.tar.gz" 2>/dev/null || true)
if [ -z "$SDIST" ]; then
  spec=llama-cpp-python${VERSION:+==$VERSION}
  log "pip download $spec (sdist)"
  pip download --no-deps --no-binary llama-cpp-python "$spec" -d "$HOME_DIR/dl" >&2
  SDIST=$(ls -t "$HOME_DIR"/dl/llama_cpp_python-${VERSION:-*}.tar.gz | head -1)
  VERSION=$(basename "$SDIST" .tar.gz); VERSION=${VERSION#llama_cpp_python-}
fi
log "llama-cpp-python $VERSION ($SDIST)"
PKG_DIR="$HOME_DIR/src/llama_cpp_python-$VERSION"
if [ ! -f "$PKG_DIR/vendor/llama.cpp/convert_hf_to_gguf.py" ]; then
  log "extracting $SDIST"
  rm -rf "$PKG_DIR.tmp" && mkdir -p "$PKG_DIR.tmp"
  tar -xzf "$SDIST" -C "$PKG_DIR.tmp"
  rm -rf "$PKG_DIR" && mv "$PKG_DIR.tmp/llama_cpp_python-$VERSION" "$PKG_DIR" && rm -rf "$PKG_DIR.tmp"
fi
LLAMA_SRC="$PKG_DIR/vendor/llama.cpp"
ln -sfn "$LLAMA_SRC" "$HOME_DIR/llama.cpp"
# The sdist has no .git: take the vendored commit from the package's CHANGELOG entry for VERSION.
COMMIT=$(awk -v v="## [$VERSION]" '$0==v{f=1;next} f&&/^## \[/{exit} f' "$PKG_DIR/CHANGELOG.md" \
         | grep -o 'llama.cpp@[0-9a-f]*' | head -1 | sed 's/.*@//' || true)
COMMIT=${COMMIT:-unknown}
log "vendored llama.cpp commit: $COMMIT"

# --- 2. toolchain --------------------------------------------------------------------------------
if ! command -v cmake >/dev/null || ! command -v g++ >/dev/null || ! command -v make >/dev/null; then
  log "apt-get install -y cmake build-essential"
  locked bash -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake build-essential' >&2
fi

# --- 3. cmake build ------------------------------------------------------------------------------
BUILD="$HOME_DIR/build-$VERSION"
TARGETS=(llama-mtmd-cli llama-bench llama-tokenize)
# The best flags for this machine: -march=native, except on CPUs with AMX, where native turns on
# ggml's AMX path and that dies with SIGILL at its first ldtilecfg (it never asks the kernel for
# the tile state with arch_prctl). There: every AVX-512 extension the CPU has, AMX off.
ISA_FLAGS=(-DGGML_NATIVE=ON)
if grep -qw amx_tile /proc/cpuinfo; then
  ISA_FLAGS=(-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
             -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AVX_VNNI=ON
             -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF)
  log "AMX CPU: native flags off, AVX-512 on, AMX off"
fi
log "cmake configure $BUILD"
cmake -S "$LLAMA_SRC" -B "$BUILD" -Wno-dev \
  -DCMAKE_BUILD_TYPE=Release "${ISA_FLAGS[@]}" -DBUILD_SHARED_LIBS=OFF \
  -DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_VULKAN=OFF -DGGML_OPENCL=OFF -DGGML_SYCL=OFF -DGGML_HIP=OFF \
  -DGGML_RPC=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_LLGUIDANCE=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_SERVER=OFF \
  -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
  -DLLAMA_BUILD_COMMIT="$COMMIT" -DLLAMA_BUILD_NUMBER=0 >"$HOME_DIR/cmake-configure.log" 2>&1 \
  || { tail -30 "$HOME_DIR/cmake-configure.log" >&2; exit 1; }
# LLAMA_CURL is gone in this llama.cpp (a deprecated no-op: CMakeLists.txt `llama_option_depr(WARNING LLAMA_CURL)`);
# LLAMA_OPENSSL=OFF is its successor (no HTTPS model download, which nothing here needs).
t0=$(date +%s)
log "cmake --build (${TARGETS[*]}) -j$JOBS, under flock $LOCK"
locked cmake --build "$BUILD" --target "${TARGETS[@]}" -j"$JOBS" >"$HOME_DIR/cmake-build.log" 2>&1 \
  || { tail -40 "$HOME_DIR/cmake-build.log" >&2; exit 1; }
log "build step took $(( $(date +%s) - t0 )) s (log: $HOME_DIR/cmake-build.log)"

# --- 4. converter venv ---------------------------------------------------------------------------
VENV="$HOME_DIR/venv"
PY="$VENV/bin/python"
[ -x "$PY" ] || python3 -m venv "$VENV"
# torch: PyPI's default Linux wheel pulls ~3 GB of nvidia-*/cuda-* wheels. PyPI also serves a
# CPU-only build as a separate version (2.13.0+cpu at the time of writing); use it when offered.
TORCH_SPEC=${TORCH_SPEC:-}
if [ -z "$TORCH_SPEC" ]; then
  cpu=$(pip index versions torch 2>/dev/null | sed -n 's/^Available versions: //p' | tr ',' '\n' | tr -d ' ' | grep '+cpu$' | head -1 || true)
  TORCH_SPEC=torch${cpu:+==$cpu}
  [ -z "$cpu" ] && log "WARNING: no +cpu torch on PyPI; plain 'torch' pulls the CUDA wheels"
fi
TF_SPEC=${TF_SPEC:-}
if [ -z "$TF_SPEC" ]; then
  tfv=$(pip index versions transformers 2>/dev/null | sed -n 's/^Available versions: //p' | tr ',' '\n' | tr -d ' ' | grep '^5\.23\.' | head -1 || true)
  TF_SPEC=transformers${tfv:+==$tfv}
fi
STAMP="$VENV/.vlm-stamp"
WANT="$TORCH_SPEC $TF_SPEC numpy sentencepiece safetensors protobuf gguf-py@$LLAMA_SRC"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  log "pip install into $VENV: $WANT"
  locked "$PY" -m pip install -q --upgrade pip >&2
  locked "$PY" -m pip install -q "$TORCH_SPEC" "$TF_SPEC" numpy sentencepiece safetensors protobuf >&2
  # gguf-py from this very source (editable: the converter and GGUFReader match the C++ side).
  locked "$PY" -m pip install -q -e "$LLAMA_SRC/gguf-py" >&2
  echo "$WANT" >"$STAMP"
fi
# Legacy llava route (tools/mtmd/legacy-models/convert_image_encoder_to_gguf.py, used by
# tools/make_gguf_pairs.py for llava/llava_next/llava_onevision, whose mmproj
# convert_hf_to_gguf.py refuses): that script needs transformers 4.x (it uses
# CLIPVisionModel.vision_model, which transformers 5 removed). An overlay dir, put first on
# PYTHONPATH for that script only, holds the transformers version the source's own
# requirements-convert_hf_to_gguf.txt pins, with the hub/tokenizers versions it accepts.
LEGACY_SITE="$HOME_DIR/legacy-site"
TF4=$(sed -n 's/^transformers==\(.*\)$/\1/p' "$LLAMA_SRC/requirements/requirements-convert_hf_to_gguf.txt" | head -1)
TF4=${TF4:-4.57.6}
LEGACY_WANT="transformers==$TF4 huggingface_hub>=0.34,<1.0 tokenizers>=0.22,<=0.23.0"
if [ "$(cat "$LEGACY_SITE/.vlm-stamp" 2>/dev/null)" != "$LEGACY_WANT" ]; then
  log "pip install --target $LEGACY_SITE: $LEGACY_WANT"
  rm -rf "$LEGACY_SITE"
  locked "$PY" -m pip install -q --no-deps --target "$LEGACY_SITE" "transformers==$TF4" "huggingface_hub>=0.34,<1.0" "tokenizers>=0.22,<=0.23.0" >&2
  echo "$LEGACY_WANT" >"$LEGACY_SITE/.vlm-stamp"
fi
PYTHONPATH="$LEGACY_SITE" "$PY" -c 'import transformers, sys; print(f"[build_llama_cpp] legacy overlay: transformers {transformers.__version__}", file=sys.stderr)'

"$PY" - <<'EOF' >&2
import torch, transformers, numpy, gguf, sys
print(f"[build_llama_cpp] venv: python {sys.version.split()[0]}, torch {torch.__version__}, "
      f"transformers {transformers.__version__}, numpy {numpy.__version__}, gguf-py {gguf.__file__}")
EOF

# --- 5. paths ------------------------------------------------------------------------------------
BIN="$BUILD/bin"
{
  echo "LLAMA_CPP_PYTHON_VERSION=$VERSION"
  echo "LLAMA_CPP_COMMIT=$COMMIT"
  echo "LLAMA_CPP_SRC=$LLAMA_SRC"
  for t in "${TARGETS[@]}"; do v=$(echo "$t" | tr 'a-z-' 'A-Z_'); echo "$v=$BIN/$t"; done
  echo "LLAMA_CPP_VENV_PYTHON=$PY"
  echo "LLAMA_CPP_LEGACY_SITE=$LEGACY_SITE"
  echo "LLAMA_CPP_CONVERTER=$LLAMA_SRC/convert_hf_to_gguf.py"
} >"$HOME_DIR/paths.env"
for t in "${TARGETS[@]}"; do [ -x "$BIN/$t" ] || { log "missing $BIN/$t"; exit 1; }; done
cat "$HOME_DIR/paths.env"
