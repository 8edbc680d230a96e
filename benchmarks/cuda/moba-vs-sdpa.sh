#!/usr/bin/env bash
# On the GPU machine, from a carried .device/ pack: the CUDA backend's resident prefill against PyTorch's dense
# causal SDPA, side by side in one run, for the configurations of the CUDA issue. Writes the raw JSON of every run
# under $OUT (default /tmp/moba-vs-sdpa), one JSON line per configuration to $OUT/results.jsonl, and prints one
# comparison line per configuration.
#   bash benchmarks/cuda/moba-vs-sdpa.sh [small]
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/moba-vs-sdpa}
mkdir -p "$OUT"
rm -f "$OUT/results.jsonl"
source backend-cuda/src/device/device-java.sh
JAVA+=(-cp "$CP")

# Appends the pair of runs $OUT/moba-NAME.json and $OUT/sdpa-NAME.json to results.jsonl with their speedup (of the
# prefill, or of the decode step), and prints one comparison line.
record() {
  python3 - "$OUT/moba-$1.json" "$OUT/sdpa-$1.json" "$OUT/results.jsonl" <<'PY'
import json, sys
moba, sdpa = (json.load(open(p)) for p in sys.argv[1:3])
decode = "step_ms" in moba
speedup = sdpa["step_ms"] / moba["step_ms"] if decode else sdpa["dense_ms"] / moba["moba_ms"]
with open(sys.argv[3], "a") as results:
    results.write(json.dumps({"moba": moba, "sdpa": sdpa, "speedup": speedup}) + "\n")
if decode:
    print(f"compare-decode: batch={moba['batch']} context={moba['tokens']} heads={moba['heads']} block={moba['block']} "
          f"top_k={moba['top_k']} moba_step_ms={moba['step_ms']:.4f} sdpa_step_ms={sdpa['step_ms']:.4f} "
          f"speedup={speedup:.2f} device={moba['device']}")
else:
    print(f"compare: tokens={moba['tokens']} heads={moba['heads']} block={moba['block']} top_k={moba['top_k']} "
          f"moba_ms={moba['moba_ms']:.3f} sdpa_ms={sdpa['dense_ms']:.3f} speedup={speedup:.2f} "
          f"moba_tflops={moba['moba_tflops']:.1f} sdpa_tflops={sdpa['dense_tflops']:.1f} device={moba['device']}")
PY
}
if [[ "${1:-}" == small ]]; then
  CONFIGS=("8192 8 512 3")
  DECODE=("16384 4 1 512 3")
else
  CONFIGS=("131072 8 512 3" "1048576 1 4096 12")
  DECODE=("1048576 16 1 4096 12")
fi
for config in "${CONFIGS[@]}"; do
  read -r tokens heads block topk <<< "$config"
  name="t${tokens}-h${heads}-b${block}-k${topk}"
  "${JAVA[@]}" dev.moba.backend.cuda.DeviceBench --tokens "$tokens" --heads "$heads" --block "$block" \
      --top-k "$topk" --dtype bf16 --runs 21 --json "$OUT/moba-$name.json" 2>&1 | grep -v 'WARNING' | tee "$OUT/moba-$name.log"
  python3 benchmarks/cuda/sdpa_bench.py --tokens "$tokens" --heads "$heads" --head-dim 128 --runs 21 \
      --json "$OUT/sdpa-$name.json" | tee "$OUT/sdpa-$name.log"
  record "$name"
done
for config in "${DECODE[@]}"; do
  read -r tokens batch heads block topk <<< "$config"
  name="decode-t${tokens}-b${batch}-h${heads}-b${block}-k${topk}"
  "${JAVA[@]}" dev.moba.backend.cuda.DeviceBench --mode decode --batch "$batch" --tokens "$tokens" --heads "$heads" \
      --block "$block" --top-k "$topk" --dtype bf16 --json "$OUT/moba-$name.json" 2>&1 | grep -v 'WARNING' \
      | tee "$OUT/moba-$name.log"
  python3 benchmarks/cuda/sdpa_bench.py --tokens "$tokens" --heads "$heads" --head-dim 128 --decode-batch "$batch" \
      --runs 50 --json "$OUT/sdpa-$name.json" | tee "$OUT/sdpa-$name.log"
  record "$name"
done
echo "results:"
cat "$OUT/results.jsonl"
