#!/usr/bin/env bash
# Compiles the backend's CUDA sources with nvcc when it is installed, so a kernel that does not compile fails the
# build on a machine without a GPU; the backend itself compiles them at run time with NVRTC for the device found.
set -euo pipefail
SOURCES="$1"
TARGET="$2"
NVCC=$(command -v nvcc || true)
[[ -z "$NVCC" && -x /usr/local/cuda/bin/nvcc ]] && NVCC=/usr/local/cuda/bin/nvcc
if [[ -z "$NVCC" ]]; then
  echo "[kernels] nvcc not found: the CUDA sources are compiled only at run time, on a GPU machine"
  exit 0
fi
mkdir -p "$TARGET"
for source in "$SOURCES"/*.cu; do
  name=$(basename "$source" .cu)
  "$NVCC" -std=c++17 -gencode=arch=compute_90a,code=sm_90a -cubin -Xptxas -warn-spills -Werror all-warnings \
    -I "$SOURCES" -o "$TARGET/$name.cubin" "$source"
  echo "[kernels] $name.cu compiled for sm_90a"
done
