# One command to set up and start nodedesk; one command to run the whole test suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

## make run: install into .venv, create the demo database on first use, start the app
run: $(STAMP)
	@$(BIN)/nodedesk db status >/dev/null 2>&1 || $(BIN)/nodedesk init --demo --timezone America/New_York
	$(BIN)/nodedesk

## make test: ruff, the import contracts and mypy, then the whole pytest suite (SQLite and PostgreSQL) on 2 workers
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python tools/static_checks.py
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python tools/static_checks.py

## make bench: performance figures (not part of the normal suite)
bench: $(STAMP)
	$(BIN)/python -m pytest -m benchmark -s -p no:cacheprovider tests/benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
