#!/usr/bin/env bash
# Every test layer, one after the other; a failing layer does not stop the others.
# Ends with the failing tests' names (CI may show only the tail of the log), then one
# summary line of layers passed and failed.
set -uo pipefail
cd "$(dirname "$0")/.."
layers=(lint rust package py ui compat)
passed=0; failed=0; report=(); digest=()
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
start_all=$SECONDS
for layer in "${layers[@]}"; do
  printf '\n\033[1m=== %s ===\033[0m\n' "$layer"
  start=$SECONDS
  if "scripts/test-$layer.sh" 2>&1 | tee "$logs/$layer"; then
    passed=$((passed + 1)); report+=("$layer ok ($((SECONDS - start)) s)")
  else
    failed=$((failed + 1)); report+=("$layer FAILED ($((SECONDS - start)) s)")
    # pytest's FAILED/ERROR lines, node's ✖ lines, cargo's "... FAILED" and panics,
    # compat's own lines; the first 40 of them.
    mapfile -t lines < <(sed 's/\x1b\[[0-9;]*m//g' "$logs/$layer" \
      | grep -E '^(FAILED|ERROR) |✖|\.\.\. FAILED|panicked at|^test-[a-z]+: |^compat [a-z-]+: |error(\[E[0-9]+\])?: ' \
      | head -40)
    digest+=("[$layer]" "${lines[@]/#/    }")
  fi
done
printf '\n'
if ((${#digest[@]})); then
  echo "what failed:"
  printf '  %s\n' "${digest[@]}"
fi
printf '  %s\n' "${report[@]}"
printf 'total %d s\n' "$((SECONDS - start_all))"
echo "layers: $passed passed, $failed failed"
[ "$failed" = 0 ]
