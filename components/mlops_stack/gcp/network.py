"""GCP network: a custom-mode VPC with one regional subnet for GKE (secondary ranges
for pods and services, Private Google Access, flow logs) and Cloud Router + Cloud NAT
so private nodes reach the internet without external IPs.

Firewall: explicit rules instead of the implied ones, so the plan and the logs show
them: a logged deny-all ingress at the lowest user priority, an allow for traffic from
inside the VPC range (nodes, pods, services; not logged: VPC flow logs already record
those flows, and logging every internal connection would multiply log volume) and a
logged allow for Google's load-balancer health checks. GKE adds its own narrower
cluster rules at creation. Egress stays open (the implied allow; Cloud NAT is the only
way out for private nodes).

``NetworkArgs.zones`` and ``nat_per_zone`` do not apply: a GCP subnet is regional and
Cloud NAT is a regional, managed service with no zonal gateway to duplicate.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from mlops_stack.args import NetworkArgs, child_opts, merge_opts
from mlops_stack.gcp._shared import enable_services, subnet_plan

PODS_RANGE = "pods"
SERVICES_RANGE = "services"
#: VPC flow log sampling of the node subnet (0.5 = half the flows).
FLOW_SAMPLING = 0.5
#: Priority of the explicit deny-all ingress rule: just above the implied rules (65535),
#: below every allow rule (GKE's own rules use 1000).
DENY_INGRESS_PRIORITY = 65534
ALLOW_PRIORITY = 1000
#: Source ranges of Google Cloud load-balancer health checks (Cloud Load Balancing docs,
#: "Health checks overview", probe IP ranges).
HEALTH_CHECK_RANGES = ("35.191.0.0/16", "130.211.0.0/22")


def firewall(parent: pulumi.Resource, name: str, network: pulumi.Input[str], cidr: str) -> list[gcp.compute.Firewall]:
    """The explicit ingress rules (see the module doc)."""
    return [
        gcp.compute.Firewall(
            f"{name}-deny-all-ingress",
            network=network,
            description="mlops-stack: deny every ingress not allowed by a higher-priority rule (logged)",
            direction="INGRESS",
            priority=DENY_INGRESS_PRIORITY,
            denies=[gcp.compute.FirewallDenyArgs(protocol="all")],
            source_ranges=["0.0.0.0/0"],
            log_config=gcp.compute.FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA"),
            opts=child_opts(parent),
        ),
        gcp.compute.Firewall(
            f"{name}-allow-internal",
            network=network,
            description="mlops-stack: traffic between nodes, pods and services of this VPC",
            direction="INGRESS",
            priority=ALLOW_PRIORITY,
            allows=[gcp.compute.FirewallAllowArgs(protocol="all")],
            source_ranges=[cidr],
            opts=child_opts(parent),
        ),
        gcp.compute.Firewall(
            f"{name}-allow-health-checks",
            network=network,
            description="mlops-stack: Google Cloud load-balancer health checks to nodes and pods (logged)",
            direction="INGRESS",
            priority=ALLOW_PRIORITY,
            allows=[gcp.compute.FirewallAllowArgs(protocol="tcp")],
            source_ranges=list(HEALTH_CHECK_RANGES),
            log_config=gcp.compute.FirewallLogConfigArgs(metadata="EXCLUDE_ALL_METADATA"),
            opts=child_opts(parent),
        ),
    ]


class Network(pulumi.ComponentResource):
    """``mlops:gcp:Network``. Outputs: ``network_id``, ``network_name``,
    ``subnet_id``, ``subnet_name``, ``pods_range_name``, ``services_range_name``,
    ``cidr``, ``ranges`` (pods/nodes/services CIDRs), ``router_name``, ``nat_name``."""

    network_id: pulumi.Output[str]
    network_name: pulumi.Output[str]
    subnet_id: pulumi.Output[str]
    subnet_name: pulumi.Output[str]
    pods_range_name: str
    services_range_name: str
    cidr: str
    ranges: dict[str, str]
    router_name: pulumi.Output[str]
    nat_name: pulumi.Output[str]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:gcp:Network", name, None, merge_opts(opts))
        env = args.env
        plan = subnet_plan(args.cidr)
        apis = enable_services(self, name, ["compute.googleapis.com"])

        vpc = gcp.compute.Network(
            f"{name}-vpc",
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            description=f"mlops-stack {env.prefix}",
            opts=child_opts(self, depends_on=apis),
        )
        subnet = gcp.compute.Subnetwork(
            f"{name}-nodes",
            network=vpc.id,
            region=env.region,
            ip_cidr_range=plan["nodes"],
            private_ip_google_access=True,
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=PODS_RANGE, ip_cidr_range=plan["pods"]),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=SERVICES_RANGE, ip_cidr_range=plan["services"]),
            ],
            log_config=gcp.compute.SubnetworkLogConfigArgs(
                aggregation_interval="INTERVAL_5_SEC", flow_sampling=FLOW_SAMPLING, metadata="INCLUDE_ALL_METADATA"
            ),
            description=f"mlops-stack {env.prefix}: GKE nodes (pods and services in secondary ranges)",
            opts=child_opts(self),
        )
        firewall(self, name, vpc.id, args.cidr)
        router = gcp.compute.Router(f"{name}-router", network=vpc.id, region=env.region, opts=child_opts(self))
        nat = gcp.compute.RouterNat(
            f"{name}-nat",
            router=router.name,
            region=env.region,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
            subnetworks=[gcp.compute.RouterNatSubnetworkArgs(name=subnet.id, source_ip_ranges_to_nats=["ALL_IP_RANGES"])],
            # Many pods per node open many connections: let ports grow on demand.
            enable_dynamic_port_allocation=True,
            enable_endpoint_independent_mapping=False,
            min_ports_per_vm=64,
            max_ports_per_vm=4096,
            log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
            opts=child_opts(self),
        )

        self.cidr = args.cidr
        self.ranges = plan
        self.network_id = vpc.id
        self.network_name = vpc.name
        self.subnet_id = subnet.id
        self.subnet_name = subnet.name
        self.pods_range_name = PODS_RANGE
        self.services_range_name = SERVICES_RANGE
        self.router_name = router.name
        self.nat_name = nat.name
        self.register_outputs(
            {
                "network_id": self.network_id,
                "network_name": self.network_name,
                "subnet_id": self.subnet_id,
                "subnet_name": self.subnet_name,
                "pods_range_name": self.pods_range_name,
                "services_range_name": self.services_range_name,
                "ranges": self.ranges,
                "router_name": self.router_name,
                "nat_name": self.nat_name,
            }
        )
