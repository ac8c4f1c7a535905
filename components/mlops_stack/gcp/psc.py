"""The consumer side of a Vertex AI Private Service Connect endpoint, in the stack's VPC.

A PSC-enabled Vertex endpoint is reachable only through a PSC endpoint in a consumer
network: an internal address in a subnet and a forwarding rule whose target is the
service attachment Vertex creates when a model is deployed. Following Google's
"Use dedicated private endpoints based on Private Service Connect for online inference"
(sections "Create PSC Endpoint Manually" and "Create a DNS record for the internal IP
address"; read 2026-11-29), this module creates, per endpoint:

* ``gcp.compute.Address`` ``<name>-psc-ip``: ``INTERNAL``, in the stack's subnet;
* ``gcp.compute.ForwardingRule`` ``<name>-psc``: in the stack's network, at that
  address, ``load_balancing_scheme=""``, ``target`` = the deployment's service attachment
  (an output of ``VertexModelDeployment``: it exists only after the deploy);
* a private Cloud DNS zone for exactly the endpoint's host name
  ``<endpoint id>-<region>-<project number>.prediction.p.vertexai.goog`` (visible in the
  stack's network only) and its ``A`` record to the address. One zone per endpoint, not
  one for ``prediction.p.vertexai.goog``: two private zones with the same name cannot
  both be bound to one network, and each endpoint is its own component.

The URL that then serves the endpoint (``invoke_url``) is
``https://<host>/v1/projects/<project>/locations/<region>/endpoints/<id>:predict``, from
inside the VPC (or a network connected to it), in the same region (global access is not
enabled). Vertex serves port 443 with a self-signed certificate whose SAN is
``*.prediction.p.vertexai.goog``: clients add it to their trust store (the page above
shows how); port 80 serves plain HTTP. PSC automation (``pscAutomationConfigs``) was not
used: it needs a service connection policy, a failed automation does not recover, and its
address changes when the endpoint has no deployed model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from mlops_stack.args import child_opts

#: The DNS suffix of PSC endpoint host names (the certificate's SAN is ``*.`` + this).
PSC_DNS_SUFFIX = "prediction.p.vertexai.goog"
#: Cloud DNS, for the private zone.
DNS_API = "dns.googleapis.com"


def psc_host(endpoint_id: str, region: str, project_number: str) -> str:
    """``1234567890-us-central1-123456789012.prediction.p.vertexai.goog``."""
    return f"{endpoint_id}-{region}-{project_number}.{PSC_DNS_SUFFIX}"


def psc_invoke_url(host: str, endpoint_resource: str) -> str:
    """``https://<host>/v1/projects/<p>/locations/<r>/endpoints/<id>:predict``."""
    return f"https://{host}/v1/{endpoint_resource}:predict"


@dataclass(frozen=True)
class PscConsumer:
    address: gcp.compute.Address
    forwarding_rule: gcp.compute.ForwardingRule
    zone: gcp.dns.ManagedZone
    record: gcp.dns.RecordSet
    host: pulumi.Output[str]
    invoke_url: pulumi.Output[str]


def psc_consumer(
    parent: pulumi.Resource,
    name: str,
    *,
    region: str,
    network: Any,
    endpoint: gcp.vertex.AiEndpoint,
    deployment: pulumi.Resource,
    service_attachment: pulumi.Input[str | None],
    project_number: pulumi.Input[str],
    labels: dict[str, str],
    depends_on: list[pulumi.Resource],
) -> PscConsumer:
    """The PSC endpoint (address + forwarding rule) and its private DNS name for one Vertex endpoint."""
    address = gcp.compute.Address(
        f"{name}-psc-ip",
        region=region,
        subnetwork=network.subnet_id,
        address_type="INTERNAL",
        description="Private Service Connect endpoint of a Vertex AI endpoint (mlops-stack)",
        labels=labels,
        opts=child_opts(parent, depends_on=depends_on),
    )
    rule = gcp.compute.ForwardingRule(
        f"{name}-psc",
        region=region,
        network=network.network_id,
        ip_address=address.id,
        load_balancing_scheme="",
        target=service_attachment,
        description="Private Service Connect to a Vertex AI endpoint's service attachment (mlops-stack)",
        labels=labels,
        # The attachment exists once a model is deployed; the target says so, this makes it explicit.
        opts=child_opts(parent, depends_on=[deployment]),
    )
    host = pulumi.Output.all(endpoint.name, project_number).apply(lambda v: psc_host(str(v[0]), region, str(v[1])))
    zone = gcp.dns.ManagedZone(
        f"{name}-psc-dns",
        dns_name=host.apply(lambda h: f"{h}."),
        visibility="private",
        private_visibility_config=gcp.dns.ManagedZonePrivateVisibilityConfigArgs(
            networks=[gcp.dns.ManagedZonePrivateVisibilityConfigNetworkArgs(network_url=network.network_id)]
        ),
        description="The private name of one Vertex AI PSC endpoint (mlops-stack)",
        labels=labels,
        opts=child_opts(parent, depends_on=depends_on),
    )
    record = gcp.dns.RecordSet(
        f"{name}-psc-a",
        managed_zone=zone.name,
        name=zone.dns_name,
        type="A",
        ttl=60,
        rrdatas=[address.address],
        opts=child_opts(parent),
    )
    url = pulumi.Output.all(host, endpoint.id).apply(lambda v: psc_invoke_url(str(v[0]), str(v[1])))
    return PscConsumer(address, rule, zone, record, host, url)
