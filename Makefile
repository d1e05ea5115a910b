# Afterdesk — `make run` serves the demo on SQLite; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: run test lint format bench bench-1m install dev clean messages screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade "pip>=24"

$(VENV)/.base-installed: requirements/base.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -r requirements/base.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

$(VENV)/.dev-installed: requirements/dev.txt $(VENV)/.base-installed
	$(BIN)/pip install -q -r requirements/dev.txt
	touch $@

install: $(VENV)/.base-installed

dev: $(VENV)/.dev-installed

run: install
	$(BIN)/afterdesk migrate --noinput -v 0
	$(BIN)/afterdesk createcachetable
	$(BIN)/afterdesk compiletranslations
	$(BIN)/afterdesk collectstatic --noinput -v 0
	$(BIN)/afterdesk demo --if-empty
	exec $(BIN)/afterdesk serve --host $(HOST) --port $(PORT)

test: dev
	$(BIN)/afterdesk compiletranslations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

format: dev
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: dev
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/ui.py
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/sla.py
	$(BIN)/python bench/triage.py

bench-1m: dev
	$(BIN)/python bench/run.py --cases 1000000 $(BENCH_ARGS)

messages: dev
	cd src/afterdesk && ../../$(BIN)/django-admin makemessages -l zh_Hans -l en --no-obsolete

clean:
	rm -rf $(VENV) var/static

screenshots: dev
	$(BIN)/python -m pytest -q -m browser
	mkdir -p docs/screenshots && cp var/screenshots/*.png docs/screenshots/
