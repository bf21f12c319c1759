# The two commands of the README, and the steps they need. Everything is
# installed into .venv by the project's own files: nothing by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench bench-compiled compiled bench-kafka bench-failover soak tools docs vendor clean

demo: $(STAMP)
	$(BIN)/triage demo

test: $(STAMP) tools lint
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check events router projections triage tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/bench_core.py
	$(BIN)/python bench/bench_pool.py
	$(BIN)/python bench/bench_embedded.py

# The compiled core (mypyc), built into build/compiled and never into the tree; it runs
# where that directory comes first on the path: PYTHONPATH=build/compiled:. (docs/performance.md).
compiled: $(STAMP)
	$(BIN)/python tools/compile_core.py

bench-compiled: compiled  # the routing core pure, then compiled, in turn
	PYTHONPATH=. $(BIN)/python bench/bench_core.py
	PYTHONPATH=build/compiled:. $(BIN)/python bench/bench_core.py

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

# The tools the tests drive, each the owner of a format: promtool and Prometheus
# (Debian's prometheus), headless Chromium, Node with the AsyncAPI parser
# (tools/node), and gcc with Python's headers for the compiled core
# (tools/compile_core.py). apt-get runs only for a tool that is missing, as root
# or through sudo; in CI (CI=true) a test whose tool is missing fails.
APT := $(if $(filter 0,$(shell id -u)),,sudo) apt-get
NODE_TOOLS := tools/node/node_modules/.installed

tools: $(NODE_TOOLS)
	@missing=""; \
	command -v promtool >/dev/null && command -v prometheus >/dev/null || missing="$$missing prometheus"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	command -v gcc >/dev/null || missing="$$missing gcc"; \
	$(PYTHON) -c 'import sysconfig, pathlib, sys; sys.exit(not pathlib.Path(sysconfig.get_paths()["include"], "Python.h").exists())' \
		|| missing="$$missing python3-dev"; \
	if [ -n "$$missing" ]; then $(APT) update && $(APT) install -y $$missing; fi

$(NODE_TOOLS): tools/node/package.json tools/node/package-lock.json
	command -v npm >/dev/null || { $(APT) update && $(APT) install -y npm; }
	cd tools/node && npm ci --no-audit --no-fund
	touch $(NODE_TOOLS)

# The generated documents, from the code (tests check they are current).
docs: $(STAMP)
	$(BIN)/triage schema > docs/schema/events.v1.json
	$(BIN)/triage schema --format openapi > docs/openapi.json
	$(BIN)/triage schema --format asyncapi > docs/asyncapi.json

# Apache ECharts for the dashboard, from the npm package pinned in tools/node.
vendor: $(NODE_TOOLS)
	cp tools/node/node_modules/echarts/dist/echarts.min.js triage/http/_static/vendor/
	cp tools/node/node_modules/echarts/LICENSE triage/http/_static/vendor/LICENSE-echarts
	cp tools/node/node_modules/echarts/NOTICE triage/http/_static/vendor/NOTICE-echarts

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache triage-demo.db* tools/node/node_modules
