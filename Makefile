# The two commands of the README, and the steps they need. Everything is
# installed into .venv by the project's own files: nothing by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench bench-kafka bench-failover soak clean

demo: $(STAMP)
	$(BIN)/triage demo

test: $(STAMP) lint
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check events router projections triage tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/bench_core.py
	$(BIN)/python bench/bench_embedded.py

bench-kafka: $(STAMP)  # starts its own local broker; a few minutes
	$(BIN)/python bench/bench_kafka.py --events 100000

bench-failover: $(STAMP)  # starts its own local broker; kill -9 and restart, 20 times
	$(BIN)/python bench/bench_failover.py --trials 20

soak: $(STAMP)  # starts its own local broker; kill -9 a worker 50 times under load
	$(BIN)/python bench/soak.py --trials 50

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,kafka]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache triage-demo.db*
