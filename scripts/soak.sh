#!/usr/bin/env bash
# A bounded soak run of `vlm serve` on loopback (issue 21, check 3; figures in
# docs/RELIABILITY.md): starts the server with the default model (or MODEL), runs
# tools/soak_client.py for SECONDS (default 600: mixed text, image, image-with-reducer and
# video requests, streamed and not, at the concurrency the queue allows, plus bursts beyond
# it), prints latency, throughput, the share of 429s, errors and the RSS series, stops the
# server and exits non-zero on any 5xx, transport error, crash or RSS growth of 5% or more.
# Usage: scripts/soak.sh [SECONDS]   (env: VLM, MODEL, QUEUE (4), MAX_TOKENS (16), PORT (18391),
#        WARMUP (60 s), BURST_EVERY (60 s))
set -euo pipefail
cd "$(dirname "$0")/.."
VLM=${VLM:-.build/release/vlm}
SECONDS_TOTAL=${1:-600}
QUEUE=${QUEUE:-4}
PORT=${PORT:-18391}
MODEL_ARGS=()
if [ -n "${MODEL:-}" ]; then MODEL_ARGS=(--model "$MODEL"); fi
[ -x "$VLM" ] || { echo "soak.sh: $VLM is not built (make build, or VLM=...)" >&2; exit 1; }
log=$(mktemp)
"$VLM" serve "${MODEL_ARGS[@]}" --host 127.0.0.1 --port "$PORT" --queue "$QUEUE" --max-tokens "${MAX_TOKENS:-16}" \
  --timeout 120 --media-root Samples 2>"$log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.2
done
echo "vlm serve (pid $server) on 127.0.0.1:$PORT, queue $QUEUE; $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
python3 tools/soak_client.py --port "$PORT" --pid "$server" --image Samples/shapes.png --seconds "$SECONDS_TOTAL" \
  --workers $((QUEUE + 1)) --burst $((2 * (QUEUE + 1))) --burst-every "${BURST_EVERY:-60}" --warmup "${WARMUP:-60}"
