#!/usr/bin/env bash
# Reliability of `vlm batch` output (issue 21, check 1; figures in docs/RELIABILITY.md):
#  1. two writers on one --out at once: the second is refused (exit 1, one line) and the first
#     finishes with every input exactly once;
#  2. TRIALS times: a batch is killed with SIGKILL at a random moment, then `--resume` runs to
#     the end; every input must appear exactly once, and every line must parse.
# Usage: scripts/kill_resume_trials.sh [TRIALS]   (env: VLM, MODEL, N inputs, MAX_TOKENS, MAX_KILL_S)
set -euo pipefail
cd "$(dirname "$0")/.."
VLM=${VLM:-.build/release/vlm}
MODEL=${MODEL:-Tests/VisionTests/Fixtures/vlms/llava_onevision}
TRIALS=${1:-100}
N=${N:-24}
MAX_TOKENS=${MAX_TOKENS:-300}
MAX_KILL_S=${MAX_KILL_S:-0.8}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/in"
for i in $(seq -w 1 "$N"); do cp Samples/shapes.png "$work/in/img$i.png"; done
run() { "$VLM" batch "$work/in" --model "$MODEL" --prompt "What is this?" --max-tokens "$MAX_TOKENS" --out "$1" "${@:2}"; }
# In the background: exec, so that $! is vlm itself and SIGKILL reaches it.
start() { exec "$VLM" batch "$work/in" --model "$MODEL" --prompt "What is this?" --max-tokens "$MAX_TOKENS" --out "$1"; }

# check FILE: prints "lines unique_inputs duplicates unparsable"
check() {
  python3 - "$1" <<'PY'
import json, sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
if lines and lines[-1] == b"": lines.pop()
inputs, bad = [], 0
for l in lines:
    try: inputs.append(json.loads(l)["input"])
    except Exception: bad += 1
print(len(lines), len(set(inputs)), len(inputs) - len(set(inputs)), bad)
PY
}

echo "== concurrent writers"
start "$work/both.jsonl" 2>/dev/null &
first=$!
sleep 0.2
set +e
second_err=$(run "$work/both.jsonl" 2>&1 >/dev/null); second=$?
set -e
wait "$first"
read -r lines unique dups bad < <(check "$work/both.jsonl")
echo "second writer: exit $second: $(echo "$second_err" | tail -1)"
echo "first writer's output: $lines lines, $unique inputs, $dups duplicated, $bad unparsable (expected $N $N 0 0)"
[ "$second" -eq 1 ] && [ "$lines" -eq "$N" ] && [ "$unique" -eq "$N" ] || { echo "FAIL: concurrent writers"; exit 1; }

echo "== $TRIALS trials of SIGKILL then --resume"
failures=0 killed_partial=0
for t in $(seq 1 "$TRIALS"); do
  out="$work/out$t.jsonl"
  start "$out" 2>/dev/null &
  pid=$!
  sleep "$(python3 -c "import random; print(round(random.uniform(0.05, $MAX_KILL_S), 3))")"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  [ -f "$out" ] && before=$(wc -l < "$out") || before=0
  if [ "$before" -lt "$N" ]; then killed_partial=$((killed_partial + 1)); fi
  run "$out" --resume 2>/dev/null
  read -r lines unique dups bad < <(check "$out")
  if [ "$lines" -ne "$N" ] || [ "$unique" -ne "$N" ] || [ "$dups" -ne 0 ] || [ "$bad" -ne 0 ]; then
    failures=$((failures + 1))
    echo "trial $t: killed after $before lines; after resume $lines lines, $unique inputs, $dups duplicated, $bad unparsable"
  fi
  rm -f "$out"
done
echo "trials: $TRIALS, killed before the end: $killed_partial, lost or duplicated or torn: $failures"
[ "$failures" -eq 0 ]
