#!/usr/bin/env bash
# A JMH fork launcher for a shared many-core Linux host: pass it as `-jvm benchmarks/pin-fork.sh`. Before each fork
# it runs a short one-thread MoBA prefill (`bin/moba bench`, 16K tokens) on every core but the first (left to the JMH
# host JVM) at once, then starts the fork pinned with taskset to the core where that prefill ran fastest, and says
# which on the fork's standard error. Costs a few seconds per fork; needs the engine built and util-linux's taskset.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# The fork needs Java 25, as the engine does: $JAVA_HOME's, else one under /usr/lib/jvm, else the default java.
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/java}
[[ -n $JAVA ]] || JAVA=$(ls /usr/lib/jvm/*25*/bin/java 2>/dev/null | head -1)
JAVA=${JAVA:-java}
probe() {
  taskset -c "$1" "$ROOT/bin/moba" bench --backend java --threads 1 --tokens 16384 --runs 2 --warmup 1 2>/dev/null \
    | sed -nE "s/^bench: .*moba_ms=([0-9.]+).*/\1 $1/p"
}
TIMES=$(for core in $(seq 1 $(( $(nproc) - 1 ))); do probe "$core" & done; wait)
BEST=$(sort -g <<< "$TIMES" | head -1 | cut -d' ' -f2)
echo "pin-fork: core $BEST (16K-token prefill ms by core: $(sort -k2 -n <<< "$TIMES" | awk '{printf "%s:%s ", $2, $1}'))" >&2
exec taskset -c "${BEST:-0}" "$JAVA" "$@"
