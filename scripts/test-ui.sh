#!/usr/bin/env bash
# UI tests: real JupyterLab (.venv, extension installed), real kernel, real Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --test --test-concurrency=1 --test-reporter=spec tests/ui/
