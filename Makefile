# The two commands a newcomer needs: `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3

.PHONY: demo test lint bench venv clean

$(VENV)/.installed: pyproject.toml src/arcli/_cash.c
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test,postgres]'
	touch $@

venv: $(VENV)/.installed

## Run the main job end to end on the sample data (SQLite, no server needed).
demo: venv
	bash scripts/demo.sh

## Install what the tests need (system packages too, when root) and run the whole suite.
test: venv
	bash scripts/test.sh

lint: venv
	$(VENV)/bin/ruff check src tests bench

bench: venv
	$(VENV)/bin/python bench/bench_import_aging.py --sizes 100000

clean:
	rm -rf demo out .pytest_cache
