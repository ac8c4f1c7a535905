"""Shared fixtures. The helpers themselves live in planning.py."""

from __future__ import annotations

import pytest

from planning import example_stacks, plan_example
from mlops_stack.offline.engine import Plan


@pytest.fixture(params=example_stacks())
def example_plan(request: pytest.FixtureRequest) -> Plan:
    return plan_example(request.param)
