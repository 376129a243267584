#!/bin/bash
# The full-size figures of bench/RESULTS.md, one workload after another (run it on a quiet
# machine: anything else running shows up in every figure). About 25 minutes, plus ~70 for
# `scale` to 1,000,000 vehicles (which needs ~26 GB of free disk). Outputs: bench/results/.
set -u
cd "$(dirname "$0")/.."
BIN=.venv/bin
OUT=bench/results/rerun-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
run() {
    name=$1
    shift
    echo "== $name (load $(cut -d' ' -f1-3 /proc/loadavg))"
    "$@" >"$OUT/$name.txt" 2>&1
    echo "   exit $?, output in $OUT/$name.txt"
}
run history "$BIN/amchain" bench history
run ingest "$BIN/amchain" bench ingest --duration 60 --clients 4 --rate-hint 3000
run ingest-half "$BIN/amchain" bench ingest --duration 30 --clients 2 --batch 100 --rate-hint 2000
run vs-ganache "$BIN/amchain" bench vs-ganache --count 5000
run stages "$BIN/amchain" bench stages --vehicles 2000
for rate in 1000 500 250; do
    run "cluster-$rate" "$BIN/python" bench/cluster_finality.py --rate "$rate" --seconds 20 \
        --stop-seconds 16 --vehicles 4000
done
run state-tree "$BIN/python" bench/state_tree.py --keys 1000000
if [ "${SCALE:-1}" = 1 ]; then
    run scale "$BIN/amchain" bench scale --vehicles 1000000 --clients 2
fi
