#!/usr/bin/env bash
# `vlm batch` on a real Slurm cluster (issue 21, check 4; output in docs/SCALING.md).
# Installs Debian's slurm-wlm and munge if missing, starts a one-node cluster on this machine
# (munged, slurmctld and slurmd on loopback, configuration in a scratch folder, nothing under
# /etc/slurm touched), and then:
#  1. submits `vlm batch` as a 4-task job array over a folder of 40 images and checks that the
#     union of the four shard outputs equals a single-process run, line for line after sorting
#     (timings and memory left out: they differ from run to run);
#  2. submits the array again, kills one task's vlm with SIGKILL once it has written part of its
#     shard, requeues that task (`scontrol requeue`), and checks that nothing is lost or
#     duplicated and the union still equals the single-process run.
# Stops the daemons it started on exit. Needs root (apt-get, munged's key) and a built vlm.
# Usage: scripts/slurm_run.sh   (env: VLM, MODEL (default: vlm's default model), MAX_TOKENS)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VLM=$(realpath "${VLM:-.build/release/vlm}")
MAX_TOKENS=${MAX_TOKENS:-24}
MODEL_ARGS=()
if [ -n "${MODEL:-}" ]; then MODEL_ARGS=(--model "$(realpath "$MODEL")"); fi
say() { printf '==> %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
[ -x "$VLM" ] || fail "$VLM is not built (make build, or VLM=...)"

# --- Install ---------------------------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurm-wlm and munge"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi
say "$(slurmctld -V)"

# --- A one-node cluster on loopback ----------------------------------------------------------
work=$(mktemp -d /tmp/vlm-slurm.XXXXXX)
chmod 755 "$work"
pids=()
started_munged=
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for f in "$work"/slurmctld.pid "$work"/slurmd.pid ${started_munged:+/run/munge/vlm-munged.pid}; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
  done
  sleep 1
  rm -rf "$work"
}
trap cleanup EXIT

if [ ! -s /etc/munge/munge.key ]; then
  say "creating /etc/munge/munge.key"
  mkdir -p /etc/munge
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
mkdir -p /run/munge /var/lib/munge /var/log/munge
chown munge:munge /run/munge /var/lib/munge /var/log/munge
if ! munge -n </dev/null >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/vlm-munged.pid --log-file=/var/log/munge/vlm-munged.log
  started_munged=1
fi
munge -n | unmunge >/dev/null || fail "munge does not work"

node=$(hostname -s)
cpus=$(nproc)
memory=$(( $(awk '/MemTotal/ { print $2 }' /proc/meminfo) / 1024 - 1024 ))
mkdir -p "$work/ctld" "$work/spool"
export SLURM_CONF=$work/slurm.conf
cat > "$SLURM_CONF" <<EOF
ClusterName=vlmtest
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmctldPort=46817
SlurmdPort=46818
AuthType=auth/munge
StateSaveLocation=$work/ctld
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
JobRequeue=1
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=main Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
say "starting slurmctld and slurmd ($node, $cpus CPUs, loopback ports 46817/46818)"
slurmctld -i -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 60); do
  state=$(sinfo -h -N -o '%t' 2>/dev/null | head -1)
  [ "$state" = "idle" ] && break
  sleep 1
done
[ "$state" = "idle" ] || { tail -20 "$work/slurmctld.log" "$work/slurmd.log" >&2; fail "node not idle (state '$state')"; }
sinfo

# --- 40 images, and a single-process reference run -------------------------------------------
mkdir "$work/in"
ffmpeg -loglevel error -f lavfi -i "testsrc2=size=224x160:rate=1" -frames:v 40 "$work/in/img%02d.png"
[ "$(ls "$work/in" | wc -l)" -eq 40 ] || fail "could not make 40 images"
batch() { "$VLM" batch "$work/in" "${MODEL_ARGS[@]}" --prompt "Describe this image." --max-tokens "$MAX_TOKENS" --threads 1 "$@"; }
say "single-process run"
batch --out "$work/single.jsonl" --shard 0/1 2>/dev/null

# canonical FILE...: the lines' stable fields, sorted; prints "lines inputs duplicates" to stderr.
canonical() {
  python3 - "$@" <<'PY'
import json, sys
rows, inputs = [], []
for path in sys.argv[1:]:
    for line in open(path, encoding="utf-8"):
        r = json.loads(line)
        inputs.append(r["input"])
        rows.append(json.dumps({k: r.get(k) for k in ("input", "model", "prompt", "reducer", "text", "tokens", "error")}, sort_keys=True))
print("\n".join(sorted(rows)))
print(len(rows), len(set(inputs)), len(inputs) - len(set(inputs)), file=sys.stderr)
PY
}
canonical "$work/single.jsonl" > "$work/single.canon" 2> "$work/single.count"
read -r n_lines n_inputs n_dups < "$work/single.count"
[ "$n_lines" -eq 40 ] && [ "$n_dups" -eq 0 ] || fail "single run: $n_lines lines, $n_dups duplicated"

# The job: one array task per shard; vlm takes the shard from SLURM_ARRAY_TASK_ID/COUNT.
cat > "$work/job.sh" <<EOF
#!/bin/bash
#SBATCH --job-name=vlm-batch
#SBATCH --cpus-per-task=1
#SBATCH --requeue
echo "task \$SLURM_ARRAY_TASK_ID of \$SLURM_ARRAY_TASK_COUNT on \$(hostname -s)"
exec "$VLM" batch "$work/in" ${MODEL_ARGS[*]:+${MODEL_ARGS[*]}} --prompt "Describe this image." --max-tokens $MAX_TOKENS \
  --threads 1 --resume --out "\$OUTDIR/shard-\$SLURM_ARRAY_TASK_ID.jsonl"
EOF
chmod +x "$work/job.sh"

wait_job() {   # wait_job JOBID SECONDS: until no task of the job is pending or running
  for _ in $(seq "$2"); do
    [ -z "$(squeue -h -j "$1" -o '%i' 2>/dev/null)" ] && return 0
    sleep 1
  done
  squeue; fail "job $1 did not finish in $2 s"
}

compare() {   # compare DIR LABEL
  canonical "$1"/shard-*.jsonl > "$1/union.canon" 2> "$1/union.count"
  read -r u_lines u_inputs u_dups < "$1/union.count"
  echo "$2: $(ls "$1"/shard-*.jsonl | wc -l) shards, $u_lines lines, $u_inputs inputs, $u_dups duplicated"
  for f in "$1"/shard-*.jsonl; do echo "  $(basename "$f"): $(wc -l < "$f") lines"; done
  [ "$u_dups" -eq 0 ] || fail "$2: duplicated lines"
  if diff -q "$work/single.canon" "$1/union.canon" >/dev/null; then
    echo "$2: union of the shards == single-process run (40 lines, sorted, stable fields)"
  else
    diff "$work/single.canon" "$1/union.canon" | head -5; fail "$2: shards differ from the single-process run"
  fi
}

# --- 1. The array ----------------------------------------------------------------------------
say "run 1: sbatch --array=0-3"
mkdir "$work/run1"
job=$(OUTDIR=$work/run1 sbatch --parsable --export=ALL --array=0-3 --output="$work/run1/slurm-%A_%a.out" "$work/job.sh")
wait_job "$job" 600
sacct_state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z]*\).*/\1/p' | sort | uniq -c | tr '\n' ' '; }
echo "job $job: tasks $(sacct_state "$job")"
head -1 "$work/run1/slurm-${job}_0.out"
compare "$work/run1" "run 1"

# --- 2. One task SIGKILLed mid-way and requeued -----------------------------------------------
say "run 2: the same array; task 1's vlm gets SIGKILL mid-way, then scontrol requeue"
mkdir "$work/run2"
job=$(OUTDIR=$work/run2 sbatch --parsable --export=ALL --array=0-3 --output="$work/run2/slurm-%A_%a.out" "$work/job.sh")
victim="$work/run2/shard-1.jsonl"
for _ in $(seq 600); do
  [ -f "$victim" ] && [ "$(wc -l < "$victim")" -ge 2 ] && break
  sleep 0.2
done
pid=$(pgrep -f -- "--out $victim" | head -1 || true)
[ -n "$pid" ] || fail "task 1 finished or never started before it could be killed"
kill -9 "$pid"
before=$(wc -l < "$victim")
echo "killed task 1's vlm (pid $pid) with SIGKILL after $before lines of its shard"
for _ in $(seq 60); do
  st=$(scontrol show job "${job}_1" | sed -n 's/.*JobState=\([A-Z]*\).*/\1/p')
  case "$st" in FAILED|COMPLETED|CANCELLED) break ;; esac
  sleep 0.5
done
echo "task 1 state after the kill: $st"
scontrol requeue "${job}_1"
echo "task 1 requeued: $(scontrol show job "${job}_1" | sed -n 's/.*JobState=\([A-Z]*\).*Reason=\([^ ]*\).*/\1 (\2)/p')"
wait_job "$job" 900
echo "job $job: tasks $(sacct_state "$job"), task 1 restarts: $(scontrol show job "${job}_1" | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p')"
compare "$work/run2" "run 2"
echo "PASS: Slurm job arrays, with a SIGKILLed and requeued task, lose and duplicate nothing"
