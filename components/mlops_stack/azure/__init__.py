"""The Azure implementation of every capability (pulumi-azure-native).

Each module imports only the azure-native submodules it uses (the package is large),
and this package imports its modules lazily: ``targets`` can look for
``mlops_stack.azure.<module>`` without loading the Azure SDK, while
``from mlops_stack.azure import Keys`` works as usual.
"""

from mlops_stack._lazy import capability_exports, lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, capability_exports())
