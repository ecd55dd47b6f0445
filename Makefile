# The two commands a newcomer needs: `make demo` and `make test`.
# Each target bootstraps what it needs: uv itself (from PyPI) if missing, then the locked environment.

SHELL := /bin/bash
PYTHON ?= python3
UV := $(or $(shell command -v uv 2>/dev/null),$(HOME)/.local/bin/uv)
VENV_STAMP := .venv/.synced
# The model server's own environment (MLServer pins what the project's cannot): the tests that
# start MLServer as KServe does, and the latency gate, run it.
SERVING_STAMP := infra/images/mlserver/.venv/.synced

.PHONY: demo demo-loop test lint bench sync clean

demo: $(VENV_STAMP) $(SERVING_STAMP)  ## train, register and gate German Credit models on the embedded registry
	$(UV) run --locked modelops demo

# After `make demo`: its champion and challenger served by MLServer as a prod canary, their traffic
# logged, a shifted input caught by the monitor, and the proposal the alert relay makes (~1-3 min).
demo-loop: $(VENV_STAMP) $(SERVING_STAMP)  ## serve, log, monitor and alert on the demo's models, locally
	$(UV) run --locked python -m modelops.demo.loop

test: $(VENV_STAMP) $(SERVING_STAMP)  ## the whole test suite
	$(UV) run --locked pytest

lint: $(VENV_STAMP)  ## ruff over the code and tests, mypy over the code
	$(UV) run --locked ruff check scripts tests infra policies
	$(UV) run --locked ruff format --check scripts tests infra policies
	$(UV) run --locked mypy

bench: $(VENV_STAMP)  ## gate decisions, validate at 300 models, --help, drift, the monitor job, the payload sink, the canary analysis and rightsizing, each beside the obvious way
	$(UV) run --locked python -m modelops.bench
	$(UV) run --locked python -m modelops.bench.gitops_scale
	$(UV) run --locked python -m modelops.bench.cli_help
	$(UV) run --locked python -m modelops.bench.drift_cold_start
	$(UV) run --locked python -m modelops.bench.monitor_job
	$(UV) run --locked python -m modelops.bench.payload_sink
	$(UV) run --locked python -m modelops.bench.rollout_analysis
	$(UV) run --locked python -m modelops.bench.rightsizing

sync: $(VENV_STAMP) $(SERVING_STAMP)  ## the project's environment and the model server's (the latency gate runs it)

# Bytecode is compiled at install time: where PYTHONDONTWRITEBYTECODE is set (as on CI
# runners), every run would otherwise recompile mlflow and friends, ~8 s per command.
$(VENV_STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --compile-bytecode
	@touch $@

$(SERVING_STAMP): infra/images/mlserver/pyproject.toml infra/images/mlserver/uv.lock | $(UV)
	$(UV) sync --locked --compile-bytecode --project infra/images/mlserver
	@touch $@

# Only reached when uv is not on PATH: install it from PyPI for this user.
$(HOME)/.local/bin/uv:
	$(PYTHON) -m pip install --user --quiet --ignore-installed uv \
	  || $(PYTHON) -m pip install --user --quiet --ignore-installed --break-system-packages uv

clean:  ## forget the embedded registry and reports
	rm -rf .modelops reports
