#!/usr/bin/env bash
# On the GPU machine, from a carried .device/ pack: where the resident prefill's time goes. Runs one prefill of
# each configuration under Nsight Compute and prints the device time of every kernel, summed by name; with
# `--detail REGEX` also the speed-of-light and occupancy sections and the warp stall reasons (cycles per issued
# instruction, those above 0.05) of the first three launches of the kernels matching REGEX. Raw CSV under $OUT (default /tmp/moba-profile).
# Nsight Compute holds the clocks at base unless NCU_CLOCKS=none (then kernels run at the clocks a benchmark sees).
#   bash benchmarks/cuda/profile-prefill.sh [--detail REGEX] [TOKENS:HEADS:BLOCK:TOPK ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/moba-profile}
mkdir -p "$OUT"
DETAIL=""
if [[ "${1:-}" == --detail ]]; then DETAIL=$2; shift 2; fi
CONFIGS=("$@")
[[ ${#CONFIGS[@]} -gt 0 ]] || CONFIGS=(131072:8:512:3 1048576:1:4096:12)
source backend-cuda/src/device/device-java.sh
JAVA+=(-cp "$CP")
for config in "${CONFIGS[@]}"; do
  IFS=: read -r tokens heads block topk <<< "$config"
  bench=(dev.moba.backend.cuda.DeviceBench --tokens "$tokens" --heads "$heads" --block "$block" --top-k "$topk"
         --dtype bf16 --runs 1 --warmup 0)
  csv="$OUT/kernels-$tokens-$heads.csv"
  ncu --target-processes all --clock-control "${NCU_CLOCKS:-base}" --metrics gpu__time_duration.sum --csv "${JAVA[@]}" "${bench[@]}" 2>/dev/null \
      | grep '^"' > "$csv" || true
  python3 - "$csv" "$config" <<'PY'
import csv, sys, collections
rows = list(csv.DictReader(open(sys.argv[1])))
total = collections.defaultdict(float); count = collections.Counter()
for r in rows:
    if r.get("Metric Name") != "gpu__time_duration.sum": continue
    scale = {"ns": 1e-6, "nsecond": 1e-6, "us": 1e-3, "usecond": 1e-3, "ms": 1.0, "msecond": 1.0}[r["Metric Unit"]]
    name = r["Kernel Name"].split("(")[0]
    total[name] += float(r["Metric Value"].replace(",", "")) * scale; count[name] += 1
print(f"profile {sys.argv[2]} (tokens:heads:block:top_k), one prefill, ms per kernel name:")
for name, ms in sorted(total.items(), key=lambda kv: -kv[1]):
    print(f"  {ms:10.3f} ms  x{count[name]:<4d} {name}")
PY
  if [[ -n "$DETAIL" ]]; then
    ncu --target-processes all -k "regex:$DETAIL" --launch-count 3 --section SpeedOfLight --section Occupancy \
        --metrics "regex:smsp__average_warps_issue_stalled_.*_per_issue_active.ratio" \
        --section LaunchStats --section WarpStateStats --section ComputeWorkloadAnalysis "${JAVA[@]}" "${bench[@]}" \
        > "$OUT/detail-$tokens-$heads.txt" 2>&1 || true
    grep -E '^  [a-z_0-9]+|Duration|Throughput|Occupancy|Registers|Warp Cycles|issue_stalled' \
        "$OUT/detail-$tokens-$heads.txt" | awk '!/issue_stalled/ || $NF > 0.05' | head -120
  fi
done
