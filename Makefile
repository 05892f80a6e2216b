# The two set-up commands: `make run` (serve the demo on SQLite) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-postgres lint lock format bench clean chromium screenshots

# Installs exactly what requirements.lock names, each file checked against its hash; the project
# itself goes in without resolving anything (`make lock` writes the lock from pyproject.toml).
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

lock: $(STAMP)
	$(BIN)/pip-compile --quiet --generate-hashes --extra dev --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links --output-file requirements.lock pyproject.toml

run: $(STAMP)
	$(BIN)/openbenefits serve --demo

# The console's browser tests drive Debian's chromium: installed when missing (as root).
chromium:
	@command -v chromium >/dev/null 2>&1 || test -n "$$OPENBENEFITS_CHROMIUM" || \
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

# Runs on SQLite; set TEST_DATABASE_URL=postgresql://... to run the same suite on PostgreSQL
# (each run creates and drops its own database on that server).
test: $(STAMP) chromium
	$(BIN)/pytest

test-postgres: $(STAMP) chromium
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres} $(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix src tests bench scripts
	$(BIN)/ruff format src tests bench scripts

# A PNG of every console page in docs/console/ (the demo tenant, in headless Chromium).
screenshots: $(STAMP) chromium
	$(BIN)/python scripts/screenshots.py

# The benchmark (bench/README.md): PostgreSQL with two server processes, then embedded SQLite.
# Needs wrk and a PostgreSQL server; pass options through, e.g. BENCH_ARGS="--customers 1000000".
bench: $(STAMP)
	$(BIN)/python bench/run.py --db postgres $(BENCH_ARGS)
	$(BIN)/python bench/run.py --db sqlite $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
