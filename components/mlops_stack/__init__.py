"""mlops-stack: one cloud-neutral spec in, a complete MLOps environment out.

Import the pieces you need::

    from mlops_stack.spec import load_spec
    from mlops_stack.stack import MlopsStack
    from mlops_stack.aws import GpuNodePool, ArtifactStore

Provider SDKs are imported only by the cloud packages, and only when used.
"""

#: The one place the version is written (pyproject.toml reads it; the policy pack, the
#: templates and `mlops-stack --version` derive theirs from it). See CHANGELOG.md.
__version__ = "0.2.0"
