# The two README commands. Both install what they need into .venv from nothing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: plan test bench clean

$(STAMP): pyproject.toml constraints.txt $(wildcard policies/requirements.txt)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@if [ -f policies/requirements.txt ]; then $(BIN)/python -m pip install --quiet -c constraints.txt -r policies/requirements.txt; fi
	touch $(STAMP)

## Plan every bundled example stack offline (no cloud account, no Pulumi CLI).
plan: $(STAMP)
	$(BIN)/mlops-stack plan --all

## Run the whole test suite.
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

## Benchmarks (figures, not pass/fail).
bench: $(STAMP)
	$(BIN)/python benchmarks/plan.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
