# Two commands do all the set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint data clean lock

# The exact versions tested (requirements.lock), then rareflow itself without resolving again.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

lock: $(STAMP)  ## re-pin requirements.lock: the newest versions within pyproject.toml's ranges
	$(BIN)/pip install --quiet --upgrade -e '.[dev]'
	head -3 requirements.lock > requirements.lock.new
	$(BIN)/pip freeze --exclude-editable >> requirements.lock.new
	mv requirements.lock.new requirements.lock

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
