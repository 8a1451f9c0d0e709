# The README's two commands are `make demo` and `make test`; both set up .venv first (idempotent).
PYTHON ?= python3
VENV ?= .venv
VENV_FLAGS ?=
PYTEST_ARGS ?=
BIN := $(VENV)/bin

.PHONY: setup demo test test-fast doctor clean-venv

setup:
	@$(PYTHON) tools/bootstrap.py --venv $(VENV) $(if $(VENV_FLAGS),--venv-flags=$(VENV_FLAGS))

DEMO ?= demo
RUN := $(DEMO)/runs/stft
# The main job: check the stack, write the embedded benchmark, train STFT through both stages, export
# it (NIR, Lava fixed point, netx, ONNX), co-simulate it on Norse, Lava float and Lava fixed point,
# and print the report's summary (sim prints it; a second run reuses every step and re-renders).
demo: setup
	@$(BIN)/neuro-av doctor
	@test -f $(DEMO)/data/SynthAV/dataset.json || $(BIN)/neuro-av data synth --out $(DEMO)/data
	@test -f $(RUN)/metrics.json || $(BIN)/neuro-av train --model stft --data $(DEMO)/data --out $(RUN)
	@test -f $(RUN)/export/manifest.json || $(BIN)/neuro-av export $(RUN) --target all
	@if [ -f $(RUN)/sim/report.json ]; then $(BIN)/neuro-av report $(RUN)/sim; \
	 else $(BIN)/neuro-av sim $(RUN) --backend all; fi

test: setup
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

# Unit tier only: no Lava runs, no training.
test-fast: setup
	@$(BIN)/python -m pytest -m "not lava and not slow" $(PYTEST_ARGS)

doctor: setup
	@$(BIN)/neuro-av doctor

clean-venv:
	rm -rf $(VENV)
