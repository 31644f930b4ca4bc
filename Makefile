# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run demo test lint setup clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

## Set up (when needed) and run the bot with ./config.toml when present:
## on Telegram with a token, otherwise on the local chat at http://127.0.0.1:8080.
run: $(STAMP)
	$(BIN)/xiaoan $(if $(wildcard config.toml),--config config.toml) run

## The same, plus a demo school and an invitation link for each role.
demo: $(STAMP)
	$(BIN)/xiaoan $(if $(wildcard config.toml),--config config.toml) run --demo

## Set up (when needed) and run the whole test suite.
test: $(STAMP)
	$(BIN)/pytest -q

## ruff and mypy, as CI runs them.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
