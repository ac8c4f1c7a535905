"""WorkloadIdentityArgs and BucketGrant: a bad binding or grant is one ConfigError line
naming the key, raised before anything is registered."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from mlops_stack.args import BucketGrant, Env, WorkloadIdentityArgs
from mlops_stack.errors import ConfigError
from mlops_stack.offline.engine import run_program

STORE = SimpleNamespace(bucket_names={"artifacts": "mlops-dev-artifacts", "models": "mlops-dev-models"})
LABEL_HINT = "(lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63)"


def args(**overrides: Any) -> WorkloadIdentityArgs:
    base: dict[str, Any] = {
        "env": Env(region="us-east-1"),
        "name": "tracking",
        "cluster": SimpleNamespace(oidc_issuer="https://issuer.example"),
        "namespace": "mlflow",
        "service_account": "mlflow",
        "store": STORE,
        "grants": (BucketGrant(bucket="artifacts", prefix="mlflow/", write=True),),
    }
    base.update(overrides)
    return WorkloadIdentityArgs(**base)


CASES: list[tuple[str, Callable[[], object], str]] = [
    (
        "unknown bucket",
        lambda: args(grants=(BucketGrant(bucket="model", prefix="scorer/"),)),
        "WorkloadIdentityArgs.grants[0].bucket: 'model' is not a bucket of the store (artifacts, models) (did you mean 'models'?)",
    ),
    ("leading slash", lambda: BucketGrant(bucket="models", prefix="/scorer/"), "BucketGrant.prefix: '/scorer/' must not start with '/' (use 'scorer/')"),
    ("bucket check not a boolean", lambda: BucketGrant(bucket="models", prefix="scorer/", bucket_check="yes"), "BucketGrant.bucket_check: 'yes' must be a boolean"),
    (
        "no trailing slash",
        lambda: BucketGrant(bucket="models", prefix="scorer"),
        "BucketGrant.prefix: 'scorer' must end with '/' (use 'scorer/'; without it the grant also covers every name that starts the same way)",
    ),
    (
        "whole bucket",
        lambda: BucketGrant(bucket="models", prefix=""),
        "BucketGrant.prefix: '' must be a non-empty object prefix ending in '/' (a grant never covers a whole bucket)",
    ),
    (
        "wildcard",
        lambda: BucketGrant(bucket="models", prefix="scorer/*/"),
        "BucketGrant.prefix: 'scorer/*/' holds a character a scoped grant cannot carry (letters, digits, '/' and . _ = + @ , : ! ( ) - only)",
    ),
    (
        "quote",
        lambda: BucketGrant(bucket="models", prefix="a'b/"),
        "BucketGrant.prefix: \"a'b/\" holds a character a scoped grant cannot carry (letters, digits, '/' and . _ = + @ , : ! ( ) - only)",
    ),
    ("dot-dot", lambda: BucketGrant(bucket="models", prefix="scorer/../"), "BucketGrant.prefix: 'scorer/../' has an empty, '.' or '..' segment"),
    ("empty segment", lambda: BucketGrant(bucket="models", prefix="scorer//"), "BucketGrant.prefix: 'scorer//' has an empty, '.' or '..' segment"),
    ("namespace upper case", lambda: args(namespace="MLflow"), f"WorkloadIdentityArgs.namespace: 'MLflow' is not a DNS-1123 label {LABEL_HINT}"),
    ("namespace with a dot", lambda: args(namespace="ml.flow"), f"WorkloadIdentityArgs.namespace: 'ml.flow' is not a DNS-1123 label {LABEL_HINT}"),
    ("service account leading dash", lambda: args(service_account="-x"), f"WorkloadIdentityArgs.service_account: '-x' is not a DNS-1123 label {LABEL_HINT}"),
    (
        "service account too long",
        lambda: args(service_account="a" * 64),
        f"WorkloadIdentityArgs.service_account: '{'a' * 56}... is not a DNS-1123 label {LABEL_HINT}",
    ),
    ("no grants", lambda: args(grants=()), "WorkloadIdentityArgs.grants: is empty (an identity with no bucket prefix has nothing to do)"),
    (
        "same grant twice",
        lambda: args(grants=(BucketGrant(bucket="models", prefix="a/"), BucketGrant(bucket="models", prefix="a/", write=True))),
        "WorkloadIdentityArgs.grants: lists the same bucket and prefix twice (merge them into one grant, write=True if either writes)",
    ),
    ("not a grant", lambda: args(grants=("models/a/",)), "WorkloadIdentityArgs.grants[0]: 'models/a/' must be a BucketGrant"),
]


@pytest.mark.parametrize(("make", "line"), [(m, line) for _, m, line in CASES], ids=[c[0] for c in CASES])
def test_bad_binding_or_grant_is_one_config_error_line(make: Callable[[], object], line: str) -> None:
    with pytest.raises(ConfigError) as info:
        make()
    assert str(info.value) == line
    assert "\n" not in str(info.value)


def test_good_args_keep_what_was_given() -> None:
    a = args(grants=(BucketGrant(bucket="models", prefix="scorer/v1/"), BucketGrant(bucket="artifacts", prefix="mlflow/", write=True)))
    assert [(g.bucket, g.prefix, g.write) for g in a.grants] == [("models", "scorer/v1/", False), ("artifacts", "mlflow/", True)]


def test_a_bad_grant_registers_nothing() -> None:
    """Inside a program the error comes before the first registration."""
    from pulumi.runtime.settings import get_monitor

    from mlops_stack import targets

    component = next(t for t in targets.all() if t.offers("WorkloadIdentity")).component("WorkloadIdentity")
    registered: list[Any] = []

    def program() -> None:
        try:
            component("tracking", args(namespace="Bad_NS"))
        finally:
            registered.extend(r for r in getattr(get_monitor(), "registrations", []) if r.type != "pulumi:pulumi:Stack")

    with pytest.raises(ConfigError, match=r"^WorkloadIdentityArgs.namespace: 'Bad_NS' is not a DNS-1123 label"):
        run_program(program, stack="bad")
    assert registered == []
