# Two commands from a fresh clone (Python 3.11+, pip; Debian's apt for Chromium):
#   make run    install the app and the offline teacher, open the bundled sample, start the app
#   make test   the same plus test tools and Chromium, then the whole test suite
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run test install install-dev chromium screenshots bench lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV) || (apt-get update && apt-get install -y python3-venv && $(PY) -m venv $(VENV))
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: $(BIN)/python requirements.txt requirements-teacher.txt
	$(BIN)/pip install -r requirements.txt
	# A portable llama.cpp build: the -march=native one crashes on batched prompts on CPUs with AMX /
	# AVX-512 (seen on this project's machines). --no-cache-dir keeps pip from reusing a native wheel.
	CMAKE_ARGS="-DGGML_NATIVE=OFF" CMAKE_BUILD_PARALLEL_LEVEL=2 $(BIN)/pip install --no-cache-dir -r requirements-teacher.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/pip install -r requirements-dev.txt
	# trl without its dependencies: the export tests only need trl.data_utils (is_conversational,
	# maybe_apply_chat_template), which imports without torch; trl's own deps would pull torch in.
	$(BIN)/pip install --no-deps trl
	touch $@

install: $(VENV)/.runtime

install-dev: $(VENV)/.dev chromium

chromium:
	@(command -v chromium && fc-list | grep -qi "color emoji") >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y chromium fonts-noto-color-emoji; }

run: install
	$(BIN)/python -m core open-sample
	$(BIN)/streamlit run app.py --server.port $(PORT) --server.address 127.0.0.1 --browser.gatherUsageStats false

test: install-dev
	$(BIN)/python -m pytest -q --cov=core --cov-report=term --durations=15

screenshots: install-dev
	TRAINSET_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/e2e

bench: install-dev
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: install-dev
	$(BIN)/ruff check . && $(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache
