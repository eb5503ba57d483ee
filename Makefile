# Two commands matter: `make run` and `make test`. Both set everything up from a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000

.PHONY: run test lint typecheck unit system-deps engine perf clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps re-run the install whenever pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

# The demo paces the embedded engine like a (much faster) real API, so partial images can be
# seen sharpening: first partial at 1.2 s, final at 3 s. ATELIER_ENGINE_FAULT= turns it off.
DEMO_PACE ?= latency=1200,3000

## Start the app on the embedded engine (no API key needed) at http://localhost:$(PORT)
run: $(VENV)/.installed-run
	env -u CI ATELIER_ENGINE_FAULT="$${ATELIER_ENGINE_FAULT-$(DEMO_PACE)}" \
		$(BIN)/chainlit run ui/app.py --host 127.0.0.1 --port $(PORT) --headless

## Install what the tests need (Debian chromium for the browser test), then lint, type-check, test
test: $(VENV)/.installed-test system-deps lint typecheck unit

system-deps:
	@bash .ci/system-deps.sh

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

unit: $(VENV)/.installed-test
	env -u CI -u OPENAI_API_KEY -u OPENAI_BASE_URL $(BIN)/pytest

## Serve the embedded engine over HTTP for any OpenAI client
engine: $(VENV)/.installed-run
	$(BIN)/atelier engine --host 127.0.0.1 --port 8900

## The full load benchmark (not part of `make test`; a smoke run of it is)
perf: $(VENV)/.installed-test
	env -u CI $(BIN)/python tests/perf/load.py --profile realistic --users 100 --out test-output/perf-realistic.json
	env -u CI $(BIN)/python tests/perf/load.py --profile burst --users 100 --out test-output/perf-burst.json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache test-output
