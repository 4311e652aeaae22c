# The two commands of the README: `make demo` and `make test`. Everything installs into .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install lint typecheck imports pytest bench clean

$(STAMP): pyproject.toml
	scripts/ensure-system.sh venv
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,spark]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/python -m dataward.demo $(if $(filter 1 yes true,$(SERVE)),--serve)

test: install
	scripts/ensure-system.sh test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

imports: install
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) demo/out .pytest_cache .mypy_cache
