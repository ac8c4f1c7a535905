"""Shared fixtures. The helpers themselves live in planning.py."""

from __future__ import annotations

import os

import pytest

from planning import example_stacks, plan_example
from mlops_stack.offline.engine import Plan

# Tests plan with monkeypatched code and data: never serve them a cached plan (the cache
# tests in test_plan_speed.py turn it on explicitly). Subprocesses inherit this.
os.environ["MLOPS_STACK_NO_CACHE"] = "1"


@pytest.fixture(params=example_stacks())
def example_plan(request: pytest.FixtureRequest) -> Plan:
    return plan_example(request.param)
