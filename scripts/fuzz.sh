#!/usr/bin/env bash
# Runs one libFuzzer target of fuzz/ (issue 21, check 2) for SECONDS, or every target with
# `all` (SECONDS each, one after the other): builds it with --sanitize fuzzer --sanitize
# address (every Swift module instrumented) into .build-fuzz (ignored by git), starts from the committed seeds in
# fuzz/corpus/TARGET plus the inputs earlier runs found (.fuzz-work/TARGET, ignored), and
# writes any crash, leak or timeout to fuzz/crashes/ (to be made a regression test). Prints
# libFuzzer's last status line (executions, coverage) and exits non-zero on a finding.
# Usage: scripts/fuzz.sh TARGET|all SECONDS      (targets: fuzz/Package.swift)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TARGETS=(FuzzGGUF FuzzSafetensors FuzzTokenizerJSON FuzzChatTemplate FuzzImage FuzzModelConfig FuzzVideo FuzzChatRequest)
[ $# -eq 2 ] || { sed -n '2,8p' "$0"; exit 2; }
what=$1; seconds=$2
if [ "$what" = all ]; then set -- "${TARGETS[@]}"; else set -- "$what"; fi
for t in "$@"; do
  [[ " ${TARGETS[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target $t (one of: ${TARGETS[*]})" >&2; exit 2; }
done
for t in "$@"; do   # one product per call: swift build takes a single --product
  # --sanitize sets up libFuzzer's main() for this package's targets but instruments only them;
  # -Xswiftc and -Xcc instrument every Swift and C module they depend on.
  ( cd fuzz && swift build -c release --sanitize fuzzer --sanitize address -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address --scratch-path "$ROOT/.build-fuzz" \
      --product "$t" 2>&1 | grep -E "error:|Build of product" || true )
done
status=0
mkdir -p fuzz/crashes
for t in "$@"; do
  bin=$ROOT/.build-fuzz/release/$t
  [ -x "$bin" ] || { echo "fuzz.sh: $t did not build" >&2; exit 1; }
  mkdir -p ".fuzz-work/$t"
  log=".fuzz-work/$t.log"
  set +e
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 "$bin" ".fuzz-work/$t" "fuzz/corpus/$t" \
    -max_total_time="$seconds" -timeout=20 -rss_limit_mb=3072 -malloc_limit_mb=3072 -print_final_stats=1 \
    -artifact_prefix="fuzz/crashes/$t-" > "$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  last=$(grep -E "^#[0-9]+" "$log" | tail -1 | cut -c1-120)
  echo "$t: ${seconds}s, exit $rc, ${execs:-?} executions; $last"
  if [ "$rc" -ne 0 ]; then status=1; grep -E "ERROR|SUMMARY|Test unit written" "$log" | head -5; fi
done
exit $status
