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
# The pipeline so far: check the stack, write the embedded benchmark, train STFT through both stages.
# A second run reuses the data and the finished run.
demo: setup
	@$(BIN)/neuro-av doctor
	@test -f $(DEMO)/data/SynthAV/dataset.json || $(BIN)/neuro-av data synth --out $(DEMO)/data
	@test -f $(DEMO)/runs/stft/metrics.json || $(BIN)/neuro-av train --model stft --data $(DEMO)/data --out $(DEMO)/runs/stft
	@$(BIN)/python -c "import json; m = json.load(open('$(DEMO)/runs/stft/metrics.json')); \
	print('STFT on the embedded benchmark (test, stage 2 at beta*):', \
	      ' '.join(f'{k} {m[k]:.2f}' for k in ('S', 'U', 'HM', 'ZSL')), '| run: $(DEMO)/runs/stft')"

test: setup
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

# Unit tier only: no Lava runs, no training.
test-fast: setup
	@$(BIN)/python -m pytest -m "not lava and not slow" $(PYTEST_ARGS)

doctor: setup
	@$(BIN)/neuro-av doctor

clean-venv:
	rm -rf $(VENV)
