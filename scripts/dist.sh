#!/usr/bin/env bash
# The release files: sdist and wheel of the built package in $1 (default dist/), checked
# with `twine check --strict` (metadata and the README render on PyPI). `make dist`.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist}"
rm -rf "$out"
.venv/bin/python -m hatchling build -d "$out"
.venv/bin/python -m twine check --strict "$out"/*
