# The README's two commands are `make demo` and `make test`; both set up .venv first (idempotent).
PYTHON ?= python3
VENV ?= .venv
VENV_FLAGS ?=
PYTEST_ARGS ?=
BIN := $(VENV)/bin

.PHONY: setup demo test test-fast doctor clean-venv

setup:
	@$(PYTHON) tools/bootstrap.py --venv $(VENV) $(if $(VENV_FLAGS),--venv-flags=$(VENV_FLAGS))

demo: setup
	@$(BIN)/neuro-av doctor

test: setup
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

# Unit tier only: no Lava runs, no training.
test-fast: setup
	@$(BIN)/python -m pytest -m "not lava and not slow" $(PYTEST_ARGS)

doctor: setup
	@$(BIN)/neuro-av doctor

clean-venv:
	rm -rf $(VENV)
