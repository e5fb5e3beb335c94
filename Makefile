# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PG_URL ?= postgresql://127.0.0.1:5432/test

.PHONY: run test test-sqlite test-pg lint typecheck check bench-signup bench-ingest bench-digest browser spamassassin clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[embedded-redis]"
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[dev,embedded-redis]"
	touch $@ $(VENV)/.run-installed

## run: install and start web server, worker and (if needed) a private Redis on embedded defaults
run: $(VENV)/.run-installed
	$(BIN)/alerts dev

## browser: install Debian's Chromium for the browser tests (never a downloaded browser)
browser:
	@scripts/ensure-chromium

## spamassassin: install Debian's SpamAssassin for the spam-score tests (local rules only)
spamassassin:
	@scripts/ensure-spamassassin

## test: install and run the whole suite (SQLite; PostgreSQL too when one answers)
test: $(VENV)/.dev-installed browser spamassassin
	$(BIN)/pytest
	@if scripts/ensure-postgres "$(PG_URL)"; then \
		TEST_DATABASE_URL="$(PG_URL)" $(BIN)/pytest -m "not browser"; \
	elif [ -n "$$REQUIRE_POSTGRES" ]; then echo "PostgreSQL required but not reachable at $(PG_URL)"; exit 1; \
	else echo "PostgreSQL not reachable at $(PG_URL): ran the suite on SQLite only"; fi

test-sqlite: $(VENV)/.dev-installed browser spamassassin
	$(BIN)/pytest

test-pg: $(VENV)/.dev-installed
	scripts/ensure-postgres "$(PG_URL)"
	TEST_DATABASE_URL="$(PG_URL)" $(BIN)/pytest -m "not browser"

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

check: lint typecheck test

## bench: run the benchmarks (see README)
bench-signup: $(VENV)/.dev-installed
	@scripts/ensure-wrk
	$(BIN)/python bench/signup.py

bench-ingest: $(VENV)/.dev-installed
	$(BIN)/python bench/ingest.py

bench-digest: $(VENV)/.dev-installed
	@scripts/ensure-smtp-sink
	$(BIN)/python bench/digest.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
