#!/usr/bin/env bash
# Pipelined batch throughput against one-input-at-a-time on the same files and model, in one
# run (issue 8, check 3). Prints both wall times and the ratio.
#   scripts/bench_pipeline.sh [N_IMAGES] [JOBS] [MAX_TOKENS]   (defaults 40, 2, 48)
# Uses the first N images of the ShapesBench split and the default model (shapes-vlm).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-40}; JOBS=${2:-2}; MAX=${3:-48}
VLM=${VLM:-.build/release/vlm}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/in"
ls Samples/shapesbench/images | head -n "$N" | while read -r f; do cp "Samples/shapesbench/images/$f" "$work/in/"; done
run() {  # run LABEL ARGS...: prints seconds
  local label=$1; shift
  local start end
  start=$(date +%s.%N)
  "$VLM" batch "$work/in" --out "$work/$label.jsonl" --max-tokens "$MAX" "$@" 2>/dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
"$VLM" describe Samples/shapes.png --max-tokens 4 >/dev/null 2>&1   # warm the page cache
serial=$(run serial --serial)
piped=$(run pipeline --jobs "$JOBS")
same=$(python3 - "$work/serial.jsonl" "$work/pipeline.jsonl" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]; b = [json.loads(l) for l in open(sys.argv[2])]
print(sum(x["text"] == y["text"] and x["input"] == y["input"] for x, y in zip(a, b)), "of", len(a))
PY
)
printf '%s images, max %s tokens: serial %.1f s (%.2f img/s), pipeline --jobs %s %.1f s (%.2f img/s): %.2fx; identical answers: %s\n' \
  "$N" "$MAX" "$serial" "$(echo "$N / $serial" | bc -l)" "$JOBS" "$piped" "$(echo "$N / $piped" | bc -l)" \
  "$(echo "$serial / $piped" | bc -l)" "$same"
