"""Times PyTorch's dense scaled_dot_product_attention on the GPU, the baseline of the CUDA backend's device
path: q, k, v already on the device, output left there, CUDA events, median of the timed runs. Prefill is causal
attention of the whole sequence; with --decode-batch B it is one new query per sequence of B over a context of
--tokens keys (dense decode).

    python3 sdpa_bench.py --tokens 131072 --heads 8 --head-dim 128 [--decode-batch B] [--runs 10] [--warmup W]
                          [--json FILE]
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, required=True)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--head-dim", type=int, default=128)
    parser.add_argument("--decode-batch", type=int)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--warmup", type=int, help="runs before timing (default: two seconds' worth, at least 3)")
    parser.add_argument("--json")
    args = parser.parse_args()

    torch.manual_seed(1)
    decode = args.decode_batch is not None
    batch = args.decode_batch if decode else 1
    shape = (batch, args.heads, args.tokens, args.head_dim)
    k, v = (torch.randn(shape, device="cuda", dtype=torch.bfloat16) for _ in range(2))
    q = torch.randn((batch, args.heads, 1 if decode else args.tokens, args.head_dim), device="cuda",
                    dtype=torch.bfloat16)
    # By default warmed as long as the MoBA side (DeviceBench), so both are timed in the same steady state.
    until, warm = time.monotonic() + 2.0, 0
    while warm < args.warmup if args.warmup is not None else warm < 3 or time.monotonic() < until:
        F.scaled_dot_product_attention(q, k, v, is_causal=not decode)
        torch.cuda.synchronize()
        warm += 1
    times = []
    for _ in range(args.runs):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        F.scaled_dot_product_attention(q, k, v, is_causal=not decode)
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    median = statistics.median(times)
    if decode:
        print(f"sdpa-decode: device={torch.cuda.get_device_name()} torch={torch.__version__} batch={batch} "
              f"context={args.tokens} heads={args.heads} step_ms={median:.4f}")
        if args.json:
            with open(args.json, "w") as out:
                json.dump({"backend": "torch-sdpa", "mode": "decode", "device": torch.cuda.get_device_name(),
                           "torch": torch.__version__, "batch": batch, "tokens": args.tokens, "heads": args.heads,
                           "head_dim": args.head_dim, "runs_ms": times, "step_ms": median}, out)
        return
    flops = 4.0 * args.head_dim * args.heads * args.tokens * (args.tokens + 1) / 2
    print(f"sdpa: device={torch.cuda.get_device_name()} torch={torch.__version__} tokens={args.tokens} "
          f"heads={args.heads} dense_ms={median:.3f} dense_tflops={flops / median / 1e9:.1f}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"backend": "torch-sdpa", "device": torch.cuda.get_device_name(), "torch": torch.__version__,
                       "tokens": args.tokens, "heads": args.heads, "head_dim": args.head_dim, "runs_ms": times,
                       "dense_ms": median, "dense_tflops": flops / median / 1e9}, out)


if __name__ == "__main__":
    main()
