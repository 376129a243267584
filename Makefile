# `make up` and `make test` each set up what they need on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)
UP_ARGS ?= --demo

.PHONY: up test lint typecheck imports unit system-deps screenshots bench clean

$(STAMP): pyproject.toml src/amchain/ledger/_tree_update.c src/amchain/storage/_tree_packs.c
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "amchain needs Python >= 3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

up: $(STAMP)
	$(BIN)/amchain up $(UP_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

system-deps:
	@bash scripts/system-deps.sh

unit: $(STAMP) system-deps
	$(BIN)/pytest

test: lint typecheck imports unit

# Small sizes: the whole suite in under five minutes. Figures and full-size commands are in
# bench/RESULTS.md; JSON goes to bench/results/.
bench: $(STAMP)
	$(BIN)/amchain bench verify-limit --duration 3
	$(BIN)/amchain bench stages --vehicles 500
	$(BIN)/amchain bench ingest --duration 10 --clients 4 --rate-hint 5000
	$(BIN)/amchain bench history
	$(BIN)/amchain bench scale --vehicles 2000
	$(BIN)/amchain bench vs-ganache --count 1000

# Regenerate docs/screenshots/*.png (the explorer's main pages, from the browser tests).
screenshots: $(STAMP) system-deps
	AMCHAIN_SCREENSHOTS=1 $(BIN)/pytest tests/test_explorer_browser.py -q

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
