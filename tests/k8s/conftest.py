"""The k8s layer's tests.

``random:`` resources (the Grafana admin password) get their realistic outputs from
``mlops_stack.offline.outputs_k8s``. Until the engine maps the ``random`` package itself
(``_OUTPUT_MODULES["random"]``, requested from the lead), register it here; ``setdefault``
makes this a no-op once the engine does. It runs at collection, before any plan.
"""

from __future__ import annotations

from mlops_stack.offline import engine

engine._OUTPUT_MODULES.setdefault("random", "mlops_stack.offline.outputs_k8s")
