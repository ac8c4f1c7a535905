"""Azure network: the stack's resource group, a VNet with a node subnet and a
private-endpoint subnet (each behind its own NSG), a NAT gateway for node egress and,
when private endpoints are used (prod), the private DNS zones they register in.

The resource group belongs here because everything else is placed in it: the
``Network`` is the first capability ``MlopsStack`` creates. ``azure.resourceGroupName``
adopts an existing group instead (it is then neither created nor deleted).

Decisions:
* Node egress goes through one NAT gateway (AKS ``outboundType: userAssignedNATGateway``).
  A subnet takes one NAT gateway, so ``network.nat: per-zone`` cannot be honoured on
  Azure: the gateway is regional (no zone pinned) and the choice is documented.
* Every subnet disables default outbound access; the private-endpoint subnet enables
  network policies so its NSG applies to private endpoints.
* A third, /28 subnet delegated to ``Microsoft.ContainerService/managedClusters`` takes
  the AKS API server (API Server VNet Integration). AKS needs it for KMS etcd encryption
  with a private-link key vault (the stack's vault firewall denies public traffic, and
  Konnectivity no longer reaches private vaults). It shares the nodes' NSG (Azure's
  default rules only: VNet and load-balancer inbound) and NAT gateway.
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import network, privatedns, resources

from mlops_stack.args import Env, NetworkArgs, child_opts, resource_tags, stateful_opts
from mlops_stack.azure._naming import PRIVATE_DNS_ZONES, dns_zone_key, resource_group_id, subnet_plan
from mlops_stack.azure._shared import client_config, component_opts


#: The service the API server subnet is delegated to (API Server VNet Integration).
API_SERVER_DELEGATION = "Microsoft.ContainerService/managedClusters"


def resource_group_name(env: Env) -> str:
    return f"{env.prefix}-rg"


#: Ports the private endpoints serve: HTTPS (vault, blob, registry, workspace) and
#: PostgreSQL (the self-hosted tracking server's flexible server).
ENDPOINT_PORTS = ("443", "5432")


def endpoint_nsg_rules(vnet_cidr: str, runner_cidrs: tuple[str, ...] = ()) -> list[network.SecurityRuleArgs]:
    """Private endpoints take HTTPS and PostgreSQL from inside the VNet and from the
    runner ranges (``cluster.runnerCidrs``: a runner in a peered or connected network
    reaches the vault, storage, registry and workspace through them), nothing else."""
    rules = [
        network.SecurityRuleArgs(
            name="allow-https-from-vnet",
            priority=100,
            direction="Inbound",
            access="Allow",
            protocol="Tcp",
            source_address_prefix=vnet_cidr,
            source_port_range="*",
            destination_address_prefix="*",
            destination_port_ranges=list(ENDPOINT_PORTS),
            description="HTTPS and PostgreSQL from the VNet to private endpoints",
        ),
        network.SecurityRuleArgs(
            name="deny-all-inbound",
            priority=4000,
            direction="Inbound",
            access="Deny",
            protocol="*",
            source_address_prefix="*",
            source_port_range="*",
            destination_address_prefix="*",
            destination_port_range="*",
            description="Nothing else reaches the private endpoints",
        ),
    ]
    if runner_cidrs:
        rules.insert(
            1,
            network.SecurityRuleArgs(
                name="allow-https-from-runners",
                priority=110,
                direction="Inbound",
                access="Allow",
                protocol="Tcp",
                source_address_prefixes=list(runner_cidrs),
                source_port_range="*",
                destination_address_prefix="*",
                destination_port_range="443",
                description="HTTPS from the deploy runners (cluster.runnerCidrs, peered networks) to private endpoints",
            ),
        )
    return rules


class Network(pulumi.ComponentResource):
    """``mlops:azure:Network``.

    Outputs: ``resource_group_name``, ``resource_group_id``, ``location``, ``vnet_id``,
    ``node_subnet_id``, ``private_endpoint_subnet_id``, ``api_server_subnet_id``, ``nat_gateway_id``,
    ``private_endpoints`` (bool: prod), ``private_dns_zone_ids`` (zone name -> ID),
    ``cidr``. Read by every other Azure component.
    """

    resource_group_name: pulumi.Output[str]
    resource_group_id: pulumi.Output[str]
    location: str
    vnet_id: pulumi.Output[str]
    node_subnet_id: pulumi.Output[str]
    private_endpoint_subnet_id: pulumi.Output[str]
    api_server_subnet_id: pulumi.Output[str]
    nat_gateway_id: pulumi.Output[str]
    private_endpoints: bool
    private_dns_zone_ids: dict[str, pulumi.Output[str]]
    cidr: str
    zones: int

    def __init__(
        self,
        name: str,
        args: NetworkArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        existing_resource_group: str | None = None,
        runner_cidrs: tuple[str, ...] | None = None,
    ) -> None:
        super().__init__("mlops:azure:Network", name, None, component_opts(opts))
        env = args.env
        tags = resource_tags(env)
        location = env.region
        plan = subnet_plan(args.cidr)
        existing = existing_resource_group or _spec_resource_group(opts)
        self._runner_cidrs = tuple(runner_cidrs if runner_cidrs is not None else _spec_runner_cidrs(opts))

        rg_name, rg_id = self._resource_group(name, env, existing, tags)
        nodes_nsg, endpoints_nsg = self._security_groups(name, args, rg_name, tags)
        nat = self._nat(name, env, rg_name, tags)
        vnet, node_subnet, endpoint_subnet, api_server_subnet = self._subnets(name, args, plan, rg_name, nodes_nsg, endpoints_nsg, nat, tags)

        self.private_endpoints = env.is_prod
        self.private_dns_zone_ids = self._private_dns(name, rg_name, vnet, tags) if self.private_endpoints else {}

        self.resource_group_name = rg_name
        self.resource_group_id = rg_id
        self.location = location
        self.cidr = args.cidr
        self.zones = args.zones
        self.vnet_id = vnet.id
        self.node_subnet_id = node_subnet.id
        self.private_endpoint_subnet_id = endpoint_subnet.id
        self.api_server_subnet_id = api_server_subnet.id
        self.nat_gateway_id = nat.id
        self.register_outputs(
            {
                "resource_group_name": self.resource_group_name,
                "resource_group_id": self.resource_group_id,
                "vnet_id": self.vnet_id,
                "node_subnet_id": self.node_subnet_id,
                "private_endpoint_subnet_id": self.private_endpoint_subnet_id,
                "api_server_subnet_id": self.api_server_subnet_id,
                "nat_gateway_id": self.nat_gateway_id,
                "private_dns_zone_ids": self.private_dns_zone_ids,
            }
        )

    def _resource_group(
        self, name: str, env: Env, existing: str | None, tags: dict[str, str]
    ) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """The stack's resource group (the caller's existing one, or a new one, protected in
        prod): its name and ID."""
        location = env.region
        if existing:
            sub = client_config(self).subscription_id
            rg_name: pulumi.Output[str] = pulumi.Output.from_input(existing)
            rg_id = sub.apply(lambda s: resource_group_id(s, existing))
        else:
            # Deleting the group deletes everything in it: protected in prod.
            rg = resources.ResourceGroup(
                f"{name}-rg", resource_group_name=resource_group_name(env), location=location, tags=tags, opts=stateful_opts(self, env)
            )
            rg_name, rg_id = rg.name, rg.id
        return rg_name, rg_id

    def _security_groups(
        self, name: str, args: NetworkArgs, rg_name: pulumi.Output[str], tags: dict[str, str]
    ) -> tuple[network.NetworkSecurityGroup, network.NetworkSecurityGroup]:
        """The node subnets' NSG (no rules of ours) and the private endpoints' NSG."""
        location = args.env.region
        nodes_nsg = network.NetworkSecurityGroup(
            f"{name}-nodes-nsg", resource_group_name=rg_name, location=location, security_rules=[], tags=tags, opts=child_opts(self)
        )
        endpoints_nsg = network.NetworkSecurityGroup(
            f"{name}-endpoints-nsg",
            resource_group_name=rg_name,
            location=location,
            security_rules=endpoint_nsg_rules(args.cidr, self._runner_cidrs),
            tags=tags,
            opts=child_opts(self),
        )
        return nodes_nsg, endpoints_nsg

    def _nat(self, name: str, env: Env, rg_name: pulumi.Output[str], tags: dict[str, str]) -> network.NatGateway:
        """The NAT gateway (and its static IP) the node subnets leave through."""
        location = env.region
        nat_ip = network.PublicIPAddress(
            f"{name}-nat-ip",
            resource_group_name=rg_name,
            location=location,
            sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"),
            public_ip_allocation_method="Static",
            public_ip_address_version="IPv4",
            tags=tags,
            opts=child_opts(self),
        )
        nat = network.NatGateway(
            f"{name}-nat",
            resource_group_name=rg_name,
            location=location,
            sku=network.NatGatewaySkuArgs(name="Standard"),
            public_ip_addresses=[network.SubResourceArgs(id=nat_ip.id)],
            idle_timeout_in_minutes=4,
            tags=tags,
            opts=child_opts(self),
        )
        return nat

    def _subnets(
        self,
        name: str,
        args: NetworkArgs,
        plan: dict[str, str],
        rg_name: pulumi.Output[str],
        nodes_nsg: network.NetworkSecurityGroup,
        endpoints_nsg: network.NetworkSecurityGroup,
        nat: network.NatGateway,
        tags: dict[str, str],
    ) -> tuple[network.VirtualNetwork, network.Subnet, network.Subnet, network.Subnet]:
        """The VNet and its node, private-endpoint and API-server subnets."""
        location = args.env.region
        # Subnets are separate resources (never inline in the VNet), so neither owns the other's state.
        vnet = network.VirtualNetwork(
            f"{name}-vnet",
            resource_group_name=rg_name,
            location=location,
            address_space=network.AddressSpaceArgs(address_prefixes=[args.cidr]),
            tags=tags,
            opts=child_opts(self, ignore_changes=["subnets"]),
        )
        node_subnet = network.Subnet(
            f"{name}-nodes",
            resource_group_name=rg_name,
            virtual_network_name=vnet.name,
            address_prefix=plan["nodes"],
            network_security_group=network.NetworkSecurityGroupArgs(id=nodes_nsg.id),
            nat_gateway=network.SubResourceArgs(id=nat.id),
            default_outbound_access=False,
            opts=child_opts(self),
        )
        # Subnet operations on one VNet are serialised by Azure: create them one after the other.
        endpoint_subnet = network.Subnet(
            f"{name}-endpoints",
            resource_group_name=rg_name,
            virtual_network_name=vnet.name,
            address_prefix=plan["endpoints"],
            network_security_group=network.NetworkSecurityGroupArgs(id=endpoints_nsg.id),
            private_endpoint_network_policies="Enabled",
            default_outbound_access=False,
            opts=child_opts(self, depends_on=[node_subnet]),
        )
        api_server_subnet = network.Subnet(
            f"{name}-apiserver",
            resource_group_name=rg_name,
            virtual_network_name=vnet.name,
            address_prefix=plan["apiserver"],
            network_security_group=network.NetworkSecurityGroupArgs(id=nodes_nsg.id),
            nat_gateway=network.SubResourceArgs(id=nat.id),
            delegations=[network.DelegationArgs(name="aks-apiserver", service_name=API_SERVER_DELEGATION)],
            default_outbound_access=False,
            opts=child_opts(self, depends_on=[endpoint_subnet]),
        )
        return vnet, node_subnet, endpoint_subnet, api_server_subnet

    def _private_dns(self, name: str, rg_name: pulumi.Output[str], vnet: network.VirtualNetwork, tags: dict[str, str]) -> dict[str, pulumi.Output[str]]:
        """The private DNS zones of the private endpoints, linked to the VNet: zone -> ID."""
        ids: dict[str, pulumi.Output[str]] = {}
        for zone in sorted({z for zs in PRIVATE_DNS_ZONES.values() for z in zs}):
            key = dns_zone_key(zone)
            pz = privatedns.PrivateZone(
                f"{name}-dns-{key}", resource_group_name=rg_name, private_zone_name=zone, location="global", tags=tags, opts=child_opts(self)
            )
            privatedns.VirtualNetworkLink(
                f"{name}-dns-{key}-link",
                resource_group_name=rg_name,
                private_zone_name=pz.name,
                location="global",
                virtual_network=privatedns.SubResourceArgs(id=vnet.id),
                registration_enabled=False,
                tags=tags,
                opts=child_opts(self),
            )
            ids[zone] = pz.id
        return ids


def _spec_resource_group(opts: pulumi.ResourceOptions | None) -> str | None:
    """``azure.resourceGroupName`` of the stack's spec, when created inside ``MlopsStack``."""
    spec = getattr(getattr(opts, "parent", None), "spec", None)
    return getattr(getattr(spec, "azure", None), "resource_group_name", None)


def _spec_runner_cidrs(opts: pulumi.ResourceOptions | None) -> tuple[str, ...]:
    """``cluster.runnerCidrs`` of the stack's spec, when created inside ``MlopsStack``."""
    spec = getattr(getattr(opts, "parent", None), "spec", None)
    return tuple(str(c) for c in getattr(getattr(spec, "cluster", None), "runner_cidrs", ()) or ())
