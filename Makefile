# Two entry points: `make run` (set up, index data/, start the app) and `make test` (set up, run every test).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE ?= 1

.PHONY: setup run ingest test lint bench eval clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip wheel
	$(PY) -m pip install -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

ingest: setup
	$(PY) -m ingest

run: ingest
	$(PY) -m rag.search "How much does a local workstation cost per day?"

test: setup
	$(PY) -m pytest

lint: setup
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .

eval: ingest
	$(PY) -m rag.eval --questions eval/questions.jsonl

bench: setup
	$(PY) -m bench.ingest_throughput
	$(PY) -m bench.query_latency

clean:
	rm -rf index .pytest_cache test-artifacts
