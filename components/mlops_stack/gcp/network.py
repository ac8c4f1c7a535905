"""GCP network: a custom-mode VPC with one regional subnet for GKE (secondary ranges
for pods and services, Private Google Access, flow logs) and Cloud Router + Cloud NAT
so private nodes reach the internet without external IPs.

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
