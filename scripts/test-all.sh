#!/usr/bin/env bash
# Every test layer, one after the other; a failing layer does not stop the others.
# Ends with one summary line of layers passed and failed.
set -uo pipefail
cd "$(dirname "$0")/.."
layers=(lint rust package py ui compat)
passed=0; failed=0; report=()
start_all=$SECONDS
for layer in "${layers[@]}"; do
  printf '\n\033[1m=== %s ===\033[0m\n' "$layer"
  start=$SECONDS
  if "scripts/test-$layer.sh"; then
    passed=$((passed + 1)); report+=("$layer ok ($((SECONDS - start)) s)")
  else
    failed=$((failed + 1)); report+=("$layer FAILED ($((SECONDS - start)) s)")
  fi
done
printf '\n'
printf '  %s\n' "${report[@]}"
printf 'total %d s\n' "$((SECONDS - start_all))"
echo "layers: $passed passed, $failed failed"
[ "$failed" = 0 ]
