# Two commands do all the set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint data clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)  ## set up, then run the headline scenario against the baseline
	$(BIN)/rareflow demo

test: $(STAMP)  ## lint, type-check and run the test suite
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest

data: $(STAMP)  ## rebuild the bundled baseline from ../shared/data/facts
	$(BIN)/python -m rareflow.build --facts ../shared/data/facts --out src/rareflow/data/baseline

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
