#!/bin/sh
# Issue 20's Fashion-MNIST study (preset fmnist-full: 5 archs x depth 20 x seeds 0,1,2 = 15 runs,
# 12 epochs) on this CPU machine: two single-threaded shards in the background, bf16 autocast +
# channels-last (the CPU's native fast paths), resumable — run `start` again after any
# interruption: finished runs are read back, an interrupted one continues from its last epoch.
#
#   sh benchmarks/fmnist_full_study.sh start    # both shards under nohup (logs: docs/fmnist-full/logs/)
#   sh benchmarks/fmnist_full_study.sh status   # finished runs, live shards, last log lines
#   sh benchmarks/fmnist_full_study.sh table    # table.* and the results section of docs/fmnist-full-study.md
#
# Records land in docs/fmnist-full/runs/*.json (small, committed: git add docs/fmnist-full/runs);
# checkpoints in docs/fmnist-full/train/ and logs are ignored by git. Each shard runs exactly:
#
#   OMP_NUM_THREADS=1 PYTHONPATH=. nohup python benchmarks/gpu_study.py --device cpu --threads 1 \
#       --shard I/2 --out docs/fmnist-full --no-progress >> docs/fmnist-full/logs/shardI.log 2>&1 &
#
# (numnet study's own line for the same grid is printed by `commands`.)
set -eu
cd "$(dirname "$0")/.."
OUT=docs/fmnist-full
PY=${PYTHON:-python}

alive() {   # the shard whose pid file is $1 is running: a live (not zombie) process of this script
    [ -f "$1" ] || return 1
    pid=$(cat "$1")
    stat=$(ps -o stat= -p "$pid" 2>/dev/null) || return 1
    case "$stat" in Z*|"") return 1 ;; esac
    ps -o args= -p "$pid" 2>/dev/null | grep -q gpu_study.py
}
case "${1:-}" in
start)
    mkdir -p "$OUT/logs"
    for i in 0 1; do
        pidfile="$OUT/logs/shard$i.pid"
        if alive "$pidfile"; then
            echo "shard $i/2 already running (pid $(cat "$pidfile"))"
            continue
        fi
        OMP_NUM_THREADS=1 PYTHONPATH=. nohup "$PY" benchmarks/gpu_study.py --device cpu --threads 1 \
            --shard "$i/2" --out "$OUT" --no-progress >> "$OUT/logs/shard$i.log" 2>&1 &
        echo $! > "$pidfile"
        echo "shard $i/2 started (pid $!), log $OUT/logs/shard$i.log"
    done
    ;;
status)
    echo "$(ls "$OUT"/runs/*.json 2>/dev/null | wc -l) of 15 runs finished"
    for d in "$OUT"/train/*/; do   # epochs each started run has checkpointed (metrics.jsonl: one line each)
        if [ -f "$d/metrics.jsonl" ]; then echo "  $(basename "$d"): $(wc -l < "$d/metrics.jsonl") of 12 epochs"; fi
    done
    for i in 0 1; do
        if alive "$OUT/logs/shard$i.pid"; then state=running; else state=stopped; fi
        echo "shard $i/2: $state"
        if [ -f "$OUT/logs/shard$i.log" ]; then tail -n 2 "$OUT/logs/shard$i.log"; fi
    done
    ;;
table)
    PYTHONPATH=. "$PY" benchmarks/gpu_study.py --table-only --out "$OUT" --doc docs/fmnist-full-study.md
    ;;
commands)
    PYTHONPATH=. "$PY" -c "from numnet.study.presets import PRESETS, study_command as c
for i in (0, 1): print('OMP_NUM_THREADS=1', ' '.join(c(PRESETS['fmnist-full'], '$OUT', shard=f'{i}/2')))"
    ;;
*)
    echo "usage: sh benchmarks/fmnist_full_study.sh start|status|table|commands" >&2
    exit 2
    ;;
esac
