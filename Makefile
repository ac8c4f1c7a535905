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
	$(MAKE) --no-print-directory sarif-schema
	touch $(STAMP)

# The SARIF 2.1.0 JSON schema the tests validate our SARIF against, taken from an npm
# package that ships it (pinned).
SARIF_PKG    := @microsoft/jest-sarif@1.0.0-beta.0
SARIF_SCHEMA := $(abspath $(VENV))/share/mlops-stack/sarif-2.1.0.json
.PHONY: sarif-schema
sarif-schema:
	@mkdir -p $(dir $(SARIF_SCHEMA))
	@tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent $(SARIF_PKG) >/dev/null && \
	  tar xzf *.tgz package/lib/schemas/sarif-2.1.0-rtm.5.json && \
	  cp package/lib/schemas/sarif-2.1.0-rtm.5.json $(SARIF_SCHEMA) && rm -rf $$tmp

## Plan every bundled example stack offline (no cloud account, no Pulumi CLI).
plan: $(STAMP)
	$(BIN)/mlops-stack plan --all --compare

## Run the whole test suite.
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

## Benchmarks (figures, not pass/fail).
bench: $(STAMP)
	$(BIN)/python benchmarks/plan.py
	$(BIN)/python benchmarks/policies.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
