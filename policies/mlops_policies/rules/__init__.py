"""All rules; importing this package registers them in ``RULES`` (pack order = import order)."""

from . import aws, azure, common, gcp, k8s  # noqa: F401  (registration side effects)
from . import _serving  # noqa: F401,I001  (cluster endpoints: after the k8s rules)
from . import _identity  # noqa: F401,I001  (workload identities, all clouds)
from . import _tracking  # noqa: F401,I001  (experiment tracking: last)
from ._registry import RULES

__all__ = ["RULES"]
