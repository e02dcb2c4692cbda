# parallel-cell: the two commands are `make lab` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := lab
export PATH := $(HOME)/.cargo/bin:$(PATH)

VENV := .venv
PY := $(VENV)/bin/python
WASM := labextension/src/core/parallel_cell_core_bg.wasm
BOOT := labextension/src/bootstrap.generated.ts
LIB := labextension/lib/index.js
LABEXT := parallel_cell/labextension/package.json
INSTALLED := .stamps/installed
INSTALLED_RTC := .stamps/installed-rtc
PORT ?= 8888

RUST_SRC := Cargo.toml Cargo.lock $(shell find crate -name '*.rs' -o -name Cargo.toml 2>/dev/null)
TS_SRC := $(shell find labextension/src -name '*.ts' ! -name 'bootstrap.generated.ts' ! -path '*/core/*' 2>/dev/null) labextension/tsconfig.json
EXT_SRC := package.json $(shell find labextension/style labextension/schema -type f 2>/dev/null)
PY_SRC := pyproject.toml install.json $(wildcard jupyter-config/*/*.json) $(shell find parallel_cell -name '*.py' ! -name _version.py ! -path '*/labextension/*' 2>/dev/null)

.PHONY: lab build setup setup-test test test-rust test-py test-ui test-compat test-lint bench soak dist clean

## make lab: set up, build, install into .venv and start JupyterLab with the demo notebook
lab: build
	@scripts/lab.sh $(PORT)

## make build: set up what is missing, build everything, install into .venv
build: setup $(INSTALLED)

setup:
	@scripts/setup.sh build

setup-test:
	@scripts/setup.sh test

$(WASM): $(RUST_SRC)
	scripts/build-wasm.sh

$(BOOT): $(wildcard parallel_cell/runtime/*.py) parallel_cell/_bootstrap.py scripts/gen_bootstrap_ts.py
	$(PY) scripts/gen_bootstrap_ts.py

$(LIB): $(TS_SRC) $(WASM) $(BOOT)
	node_modules/.bin/tsc -p labextension
	rm -rf labextension/lib/core && cp -r labextension/src/core labextension/lib/core
	touch $(LIB)

$(LABEXT): $(LIB) $(EXT_SRC)
	rm -rf parallel_cell/labextension
	$(VENV)/bin/jupyter-builder build .

$(INSTALLED): $(LABEXT) $(PY_SRC)
	$(VENV)/bin/pip install --disable-pip-version-check -q --no-deps --no-build-isolation --force-reinstall .
	@mkdir -p .stamps && touch $(INSTALLED)

# The collaboration venv gets the same build, as a wheel (what a user would pip install).
$(INSTALLED_RTC): $(INSTALLED) requirements-rtc.txt
	rm -rf build/wheel && $(VENV)/bin/pip wheel --disable-pip-version-check -q --no-deps --no-build-isolation -w build/wheel .
	.venv-rtc/bin/pip install --disable-pip-version-check -q --no-deps --force-reinstall build/wheel/*.whl
	@mkdir -p .stamps && touch $(INSTALLED_RTC)

## make test: set up (Chromium included), build, run every layer, one summary line
test: setup-test $(INSTALLED) $(INSTALLED_RTC)
	@scripts/test-all.sh

## make soak: the long reliability runs (fuzz 1,000,000, kernel soak, UI load), with figures
soak: setup-test $(INSTALLED)
	@scripts/soak.sh

test-rust:
	scripts/test-rust.sh

test-py: build
	scripts/test-py.sh

test-ui: setup-test $(INSTALLED) $(INSTALLED_RTC)
	scripts/test-ui.sh

## make test-compat: the release files in fresh environments of older and newer
## JupyterLab / Notebook 7 / ipykernel / Python, each through the core journeys
test-compat: setup-test $(INSTALLED)
	scripts/test-compat.sh

test-lint: build
	scripts/test-lint.sh

## make dist: the release files, sdist and wheel, in dist/ (twine check --strict clean)
dist: build
	scripts/dist.sh dist

## make bench: benchmarks beside their baselines; writes docs/benchmarks.md
bench: setup-test $(INSTALLED)
	scripts/bench.sh

clean:
	rm -rf target labextension/lib labextension/src/core $(BOOT) parallel_cell/labextension .stamps
