#!/usr/bin/env bash
# TypeScript: type check (strict) and format.
set -euo pipefail
cd "$(dirname "$0")/.."
node_modules/.bin/tsc -p labextension --noEmit
node_modules/.bin/prettier --check labextension/src labextension/style tests/ui
echo "lint: tsc and prettier clean"
