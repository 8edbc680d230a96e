#!/usr/bin/env bash
# On the GPU machine: builds tile_bench.cu against the backend's kernel sources and runs it (see that file).
#   bash benchmarks/cuda/tiles/tile-bench.sh [tokens] [heads] [block]
set -euo pipefail
cd "$(dirname "$0")"
SOURCES=../../../backend-cuda/src/main/resources/dev/moba/backend/cuda
BIN=${TMPDIR:-/tmp}/tile_bench
nvcc -std=c++17 -gencode=arch=compute_90a,code=sm_90a -lineinfo -I "$SOURCES" -o "$BIN" tile_bench.cu
"$BIN" "$@"
