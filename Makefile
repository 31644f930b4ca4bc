# Two commands on a fresh machine: `make run` and `make test`.
# It needs python3 (3.11+) with its venv module, make, and access to PyPI.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# What the bot needs; and, on top, the test and lint tools (pytest, ruff, mypy,
# zxing-cpp, Playwright: some 275 MB that a school running the bot never uses).
STAMP     := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run demo test lint setup setup-dev clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
		echo "make: xiaoan needs Python 3.11 or newer; '$(PYTHON)' is older" \
		     "(PYTHON=python3.12 make ... picks another)" >&2; exit 1; }
	test -x $(BIN)/pip || $(PYTHON) -m venv --clear $(VENV) || { \
		echo "make: '$(PYTHON) -m venv' failed: install the venv module" \
		     "(Debian/Ubuntu: sudo apt install python3-venv)" >&2; exit 1; }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

## The bot's dependencies only.
setup: $(STAMP)

## Plus the test and lint tools.
setup-dev: $(DEV_STAMP)

## Set up (when needed) and run the bot with ./config.toml when present:
## on Telegram with a token, otherwise on the local chat at http://127.0.0.1:8080.
run: $(STAMP)
	$(BIN)/xiaoan $(if $(wildcard config.toml),--config config.toml) run

## The same, plus a demo school and an invitation link for each role.
demo: $(STAMP)
	$(BIN)/xiaoan $(if $(wildcard config.toml),--config config.toml) run --demo

## Set up (when needed, with the test tools) and run the whole test suite.
test: $(DEV_STAMP)
	$(BIN)/pytest -q

## ruff and mypy, as CI runs them.
lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
