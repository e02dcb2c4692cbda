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
    # compat's own lines (the first 40); then node's report of its first failing
    # tests, which holds the assertion (40 lines after "failing tests:", less node's
    # own frames).
    sed 's/\x1b\[[0-9;]*m//g' "$logs/$layer" >"$logs/$layer.plain"
    mapfile -t lines < <(grep -E '^(FAILED|ERROR) |✖|\.\.\. FAILED|panicked at|^test-[a-z]+: |^compat [a-z-]+: |^error(\[E[0-9]+\])?: ' \
      "$logs/$layer.plain" | head -40)
    mapfile -t details < <(sed -n '/✖ failing tests:/,$p' "$logs/$layer.plain" \
      | grep -vE '^\s*$|failing tests:|\(node:|^\s+at (async )?Test' | head -40)
    digest+=("[$layer]" "${lines[@]/#/    }" "${details[@]/#/    }")
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
