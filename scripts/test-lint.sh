#!/usr/bin/env bash
# TypeScript: type check (strict) and format.
set -euo pipefail
cd "$(dirname "$0")/.."
node_modules/.bin/tsc -p labextension --noEmit
node_modules/.bin/prettier --check labextension/src labextension/style tests/ui bench
.venv/bin/ruff check bench scripts tests/ui
.venv/bin/ruff format --check bench scripts tests/ui
echo "lint: tsc, prettier and ruff clean"
