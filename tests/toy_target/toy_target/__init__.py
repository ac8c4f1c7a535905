"""A toy deployment target that lives outside the mlops_stack package.

It registers through the ``mlops_stack.targets`` entry point (the test writes a
dist-info for it) and offers two capabilities: a Network and an ArtifactStore. It has
no provider package: its resources use Pulumi's default provider for the ``toy``
package, which the offline engine answers with ``toy_target.mocks``.
"""

from mlops_stack.targets import Target

TARGET = Target(
    name="toy",
    display_name="Toy",
    package="toy_target",
    order=900,
    capabilities={"Network": "toy_target.components:Network", "ArtifactStore": "toy_target.components:ArtifactStore"},
    options_model="toy_target.options:ToyOptions",
    mock_outputs={"toy": "toy_target.mocks"},
    uri_scheme="toy://",
)

#: A spec using every capability the toy offers, and asking for nothing it lacks.
SAMPLE_CONFIG = {
    "mlops-stack:cloud": "toy",
    "mlops-stack:region": "lab-1",
    "mlops-stack:cluster": '{"enabled": false}',
    "mlops-stack:modelRegistry": '{"enabled": false}',
    "mlops-stack:monitoring": '{"enabled": false}',
    "mlops-stack:containerRegistry": '{"repositories": []}',
}
