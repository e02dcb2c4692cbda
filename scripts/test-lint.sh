#!/usr/bin/env bash
# TypeScript: type check (strict) and format; ruff on the scripts; every path the
# repository names exists.
set -euo pipefail
cd "$(dirname "$0")/.."
node_modules/.bin/tsc -p labextension --noEmit
node_modules/.bin/prettier --check labextension/src labextension/style tests/ui tests/compat bench scripts/*.mjs
.venv/bin/ruff check bench scripts tests/ui
.venv/bin/ruff format --check bench scripts tests/ui
.venv/bin/python scripts/check_pointers.py
echo "lint: tsc, prettier, ruff and pointers clean"
