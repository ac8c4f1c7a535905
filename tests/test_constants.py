"""Names shared by every target are defined once (mlops_stack.constants)."""

from __future__ import annotations

from pathlib import Path

from mlops_stack import constants

PACKAGE = Path(constants.__file__).resolve().parent


def test_pool_label_and_reserved_namespaces_are_written_only_in_constants() -> None:
    for path in PACKAGE.rglob("*.py"):
        if path.name == "constants.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert '"mlops-stack/pool"' not in text, path
        assert '"kube-node-lease"' not in text, path


def test_the_spec_the_k8s_layer_and_the_policy_pack_share_them() -> None:
    from mlops_policies import generated

    from mlops_stack import spec
    from mlops_stack.k8s import _common

    assert spec.RESERVED_NAMESPACES is constants.RESERVED_NAMESPACES is _common.RESERVED_NAMESPACES
    assert generated.GPU_TAINT_KEY == constants.GPU_TAINT_KEY and generated.POOL_LABEL == constants.POOL_LABEL


def test_bucket_name_limit_is_defined_once() -> None:
    """The spec's bucket-base limit is the constant (63 minus the auto-name suffix), not a copy."""
    from mlops_stack import constants, spec

    assert constants.MAX_BUCKET_BASE == constants.MAX_BUCKET_NAME - constants.AUTONAME_SUFFIX == 55
    assert spec.MAX_BUCKET_BASE is constants.MAX_BUCKET_BASE
