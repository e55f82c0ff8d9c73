# The two set-up commands of the README: `make run` and `make test`.
# Both create the virtual environment and install what is missing first.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip

.PHONY: run test install browser llm-server lint bench eval clean

run: install ## start the chat UI on http://127.0.0.1:7860 (builds model and index if missing)
	$(VENV)/bin/visio serve

test: install browser llm-server ## the whole test suite, as CI runs it
	$(PY) -m pytest

install: $(VENV)/.installed

# torch first, as the local CPU build: a bare torch requirement would pull CUDA.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[test]'
	touch $@

browser: ## Debian's Chromium for the browser tests
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  || (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium); }

# llama.cpp's OpenAI-compatible server for the generative-path tests (~7 min to build once).
llm-server: install
	@$(PY) -c "import llama_cpp.server" 2>/dev/null || \
	  $(PIP) install --quiet 'llama-cpp-python[server]==0.3.36'

lint: install
	$(VENV)/bin/ruff check .

bench: install ## speed and memory figures
	$(VENV)/bin/visio bench all

eval: install ## the shipped answer test set, with its CI thresholds
	$(VENV)/bin/visio eval

clean:
	rm -rf $(VENV) var index/gen-* index/CURRENT
