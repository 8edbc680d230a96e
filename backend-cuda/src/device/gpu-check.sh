#!/usr/bin/env bash
# Runs the CUDA backend's checks on the GPU machine from a carried .device/ pack: `bin/moba verify --backend cuda`
# on every golden case (fp32 and bf16, one-shot, --chunk 1 and --chunk 300), then the GPU tests. Logs go to $OUT
# when it is set. Make the pack on the build machine from the project root:
#   ./mvnw -q -DskipTests install && ./mvnw -q -pl backend-cuda test-compile dependency:copy-dependencies \
#       -DincludeScope=test
#   ../shared/tools/device-pack backend-cuda/target/dependency
# (the pack must stay small: leave out jars the run does not need, e.g. byte-buddy).
set -uo pipefail
cd "$(dirname "$0")/../../.."
OUT=${OUT:-/tmp/moba-gpu-check}
mkdir -p "$OUT"
source backend-cuda/src/device/device-java.sh
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
status=0
for args in "" "--chunk 1" "--chunk 300" "--dtype bf16" "--dtype bf16 --chunk 1" "--dtype bf16 --chunk 300"; do
  # shellcheck disable=SC2086
  "${JAVA[@]}" -cp "$CP" dev.moba.cli.MobaCli verify --backend cuda $args engine-core/src/test/resources/golden \
      > "$OUT/verify.log" 2>&1 || status=1
  echo "verify --backend cuda $args: $(grep '^verify:' "$OUT/verify.log" || tail -3 "$OUT/verify.log")"
done
TESTS="$D/classes/engine-core/target/test-classes:$D/classes/backend-cuda/target/test-classes"
JARS=$(ls "$D"/lib/*.jar | grep -v junit-platform-console | tr '\n' ':')
"${JAVA[@]}" -jar $D/lib/junit-platform-console-standalone-*.jar execute --disable-banner --details=tree \
    --class-path "$JARS$CP:$TESTS:engine-core/src/test/resources" --select-package dev.moba.backend.cuda \
    --include-tag gpu "$@" > "$OUT/gpu-tests.log" 2>&1 || status=1
grep -E '✘' "$OUT/gpu-tests.log" | head -20
grep -E 'tests (successful|failed|skipped|found)' "$OUT/gpu-tests.log"
exit $status
