# Laojian: `make run` and `make test` each do their own set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
NODE_STAMP := node_modules/.package-lock.json
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test install lint bench e2e demo messages clean

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

install: $(STAMP) $(NODE_STAMP)
	@bash tools/ensure-packages

## make run: install, migrate, load the demo city, serve on http://127.0.0.1:8000 with the worker
run: install
	$(BIN)/laojian migrate --noinput
	$(BIN)/laojian demo
	$(BIN)/laojian db_worker --no-reload & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/laojian runserver $(HOST):$(PORT)

## make test: install (and Debian's Chromium for the browser tests), then every test
test: install
	@bash tools/ensure-browser
	$(BIN)/laojian makemigrations --check --dry-run
	$(BIN)/pytest

e2e: install
	@bash tools/ensure-browser
	$(BIN)/pytest e2e

lint: install
	$(BIN)/ruff check laojian bench e2e
	$(BIN)/laojian makemigrations --check --dry-run

bench: install
	$(BIN)/python bench/worklist.py

demo: install
	$(BIN)/laojian migrate --noinput
	$(BIN)/laojian demo

## make messages: refresh and compile the Chinese translations after changing UI text
messages: install
	cd laojian && ../$(BIN)/laojian makemessages -l zh_Hans --no-obsolete && ../$(BIN)/laojian compilemessages

clean:
	rm -rf $(VENV) node_modules data/test.sqlite3
