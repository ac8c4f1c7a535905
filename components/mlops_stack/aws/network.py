"""AWS network: a VPC over two or more zones, private subnets for nodes and endpoints,
NAT (one in dev, one per zone in prod), and VPC endpoints so that image pulls, STS and
SageMaker runtime calls never leave AWS's network.

VPC flow logs (all traffic, accepted and rejected) go to a CloudWatch log group
encrypted with the stack key and kept for a retention that depends on the environment.
The key is created after the network (Azure's key vault needs the network), so the
flow logs are attached by ``enable_flow_logs``, which the Keys component calls when it
is given this network: a stack always gets them (CIS AWS 3.7, AWS FSBP EC2.6)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mlops_stack.args import Env, NetworkArgs, child_opts, merge_opts, resource_tags
from mlops_stack.aws._shared import identity
from mlops_stack.errors import ConfigError
from mlops_stack.aws.policies import EKS_UNSUPPORTED_ZONE_IDS, INTERFACE_ENDPOINTS, flow_log_delivery_policy, service_assume_role_policy, subnet_plan

#: Flow-log retention (days) per environment; CloudWatch Logs accepts only certain
#: values (1, 3, 5, 7, 14, 30, 60, 90, ..., 365, ...): these are among them. The same
#: tiers as the EKS control-plane logs.
FLOW_LOG_RETENTION_DAYS = {"prod": 365, "staging": 90, "dev": 30}
#: Aggregation interval of flow-log records, seconds (60 or 600): one minute, so an
#: investigation sees connections close to when they happened.
FLOW_LOG_AGGREGATION_SECONDS = 60


def zone_name(names: list[str], i: int, zones: int) -> str:
    """The ``i``-th zone the region offers the cluster; fewer zones than ``network.zones``
    (an account with fewer zones than ``regionCheck: off`` assumed) is the spec's one-line
    error, not an IndexError inside the program."""
    if i < len(names):
        return names[i]
    raise ConfigError(
        "network.zones",
        f"asks for {zones} zones, but this account has {len(names)} available in the region that EKS supports",
        f"set network.zones: {len(names)}",
        value=zones,
    )


def flow_log_retention(env: Env) -> int:
    return FLOW_LOG_RETENTION_DAYS.get(env.environment, 90)



class Network(pulumi.ComponentResource):
    """``mlops:aws:Network``. Outputs: ``vpc_id``, ``private_subnet_ids``,
    ``public_subnet_ids``, ``endpoint_security_group_id``, ``cidr``."""

    vpc_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]
    public_subnet_ids: pulumi.Output[list[str]]
    endpoint_security_group_id: pulumi.Output[str]
    cidr: str

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:Network", name, None, merge_opts(opts))
        env = args.env
        tags = resource_tags(env)
        private_cidrs, public_cidrs = subnet_plan(args.cidr, args.zones)
        azs = aws.get_availability_zones_output(
            state="available",
            exclude_zone_ids=list(EKS_UNSUPPORTED_ZONE_IDS),
            filters=[aws.GetAvailabilityZonesFilterArgs(name="zone-type", values=["availability-zone"])],
            opts=pulumi.InvokeOutputOptions(parent=self),
        ).names

        vpc, igw, public_rt = self._vpc(name, args, tags)
        public, private, private_rts = self._subnets(name, args, azs, vpc, igw, public_rt, private_cidrs, public_cidrs, tags)
        endpoint_sg = self._endpoints(name, args, vpc, private, private_rts, tags)

        self._env = env
        self._name = name
        self.flow_log: aws.ec2.FlowLog | None = None
        self.cidr = args.cidr
        self.vpc_id = vpc.id
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private])
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public])
        self.endpoint_security_group_id = endpoint_sg.id
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "private_subnet_ids": self.private_subnet_ids,
                "public_subnet_ids": self.public_subnet_ids,
                "endpoint_security_group_id": self.endpoint_security_group_id,
            }
        )

    def _vpc(self, name: str, args: NetworkArgs, tags: dict[str, str]) -> tuple[aws.ec2.Vpc, aws.ec2.InternetGateway, aws.ec2.RouteTable]:
        """The VPC (its default security group emptied), its internet gateway and the
        public route table."""
        env = args.env
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**tags, "Name": f"{env.prefix}-vpc"},
            opts=child_opts(self),
        )
        # The default security group of a new VPC allows all traffic between its members:
        # take it over and leave it with no rules (CIS 5.4).
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, tags=tags, opts=child_opts(self))
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tags, opts=child_opts(self))

        public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=vpc.id, tags={**tags, "Name": f"{env.prefix}-public"}, opts=child_opts(self))
        aws.ec2.Route(f"{name}-public-default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0", gateway_id=igw.id, opts=child_opts(self))
        return vpc, igw, public_rt

    def _subnets(
        self,
        name: str,
        args: NetworkArgs,
        azs: pulumi.Output[list[str]],
        vpc: aws.ec2.Vpc,
        igw: aws.ec2.InternetGateway,
        public_rt: aws.ec2.RouteTable,
        private_cidrs: list[str],
        public_cidrs: list[str],
        tags: dict[str, str],
    ) -> tuple[list[aws.ec2.Subnet], list[aws.ec2.Subnet], list[aws.ec2.RouteTable]]:
        """Per zone a public and a private subnet; a NAT gateway and private route table in
        the first zone (every zone with ``natPerZone``)."""
        env = args.env
        public, private, nats, private_rts = [], [], [], []
        for i in range(args.zones):
            az = azs.apply(lambda names, i=i: zone_name(names, i, args.zones))
            pub = aws.ec2.Subnet(
                f"{name}-public-{i}",
                vpc_id=vpc.id,
                cidr_block=public_cidrs[i],
                availability_zone=az,
                map_public_ip_on_launch=False,
                tags={**tags, "Name": f"{env.prefix}-public-{i}", "kubernetes.io/role/elb": "1"},
                opts=child_opts(self),
            )
            aws.ec2.RouteTableAssociation(f"{name}-public-{i}", subnet_id=pub.id, route_table_id=public_rt.id, opts=child_opts(self))
            priv = aws.ec2.Subnet(
                f"{name}-private-{i}",
                vpc_id=vpc.id,
                cidr_block=private_cidrs[i],
                availability_zone=az,
                tags={**tags, "Name": f"{env.prefix}-private-{i}", "kubernetes.io/role/internal-elb": "1"},
                opts=child_opts(self),
            )
            public.append(pub)
            private.append(priv)
            if i == 0 or args.nat_per_zone:
                eip = aws.ec2.Eip(f"{name}-nat-{i}", domain="vpc", tags=tags, opts=child_opts(self))
                nats.append(
                    aws.ec2.NatGateway(
                        f"{name}-nat-{i}",
                        allocation_id=eip.id,
                        subnet_id=pub.id,
                        tags={**tags, "Name": f"{env.prefix}-nat-{i}"},
                        opts=child_opts(self, depends_on=[igw]),
                    )
                )
            if i == 0 or args.nat_per_zone:
                rt = aws.ec2.RouteTable(f"{name}-private-rt-{i}", vpc_id=vpc.id, tags={**tags, "Name": f"{env.prefix}-private-{i}"}, opts=child_opts(self))
                aws.ec2.Route(
                    f"{name}-private-default-{i}", route_table_id=rt.id, destination_cidr_block="0.0.0.0/0", nat_gateway_id=nats[-1].id, opts=child_opts(self)
                )
                private_rts.append(rt)
            aws.ec2.RouteTableAssociation(f"{name}-private-{i}", subnet_id=priv.id, route_table_id=private_rts[-1].id, opts=child_opts(self))
        return public, private, private_rts

    def _endpoints(
        self,
        name: str,
        args: NetworkArgs,
        vpc: aws.ec2.Vpc,
        private: list[aws.ec2.Subnet],
        private_rts: list[aws.ec2.RouteTable],
        tags: dict[str, str],
    ) -> aws.ec2.SecurityGroup:
        """The S3 gateway endpoint and the interface endpoints (HTTPS from the VPC only)."""
        env = args.env
        endpoint_sg = aws.ec2.SecurityGroup(
            f"{name}-endpoints-sg",
            vpc_id=vpc.id,
            description="HTTPS from inside the VPC to interface VPC endpoints",
            ingress=[aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=443, to_port=443, cidr_blocks=[args.cidr], description="HTTPS from the VPC")],
            egress=[aws.ec2.SecurityGroupEgressArgs(protocol="tcp", from_port=443, to_port=443, cidr_blocks=[args.cidr], description="HTTPS inside the VPC")],
            tags=tags,
            opts=child_opts(self),
        )
        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{env.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in private_rts],
            tags=tags,
            opts=child_opts(self),
        )
        for service in INTERFACE_ENDPOINTS:
            aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}",
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{env.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[s.id for s in private],
                security_group_ids=[endpoint_sg.id],
                tags=tags,
                opts=child_opts(self),
            )
        return endpoint_sg

    def enable_flow_logs(self, key_arn: pulumi.Input[str]) -> aws.ec2.FlowLog:
        """Log every flow of the VPC (accepted and rejected) to a log group encrypted with
        ``key_arn``; idempotent. The resources are this network's children."""
        if self.flow_log is not None:
            return self.flow_log
        env, name = self._env, self._name
        tags = resource_tags(env)
        account, _partition = identity(self)
        group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=f"/aws/vpc/{env.prefix}/flow-logs",
            retention_in_days=flow_log_retention(env),
            kms_key_id=key_arn,
            tags=tags,
            opts=child_opts(self),
        )
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            description=f"mlops-stack {env.prefix}: VPC Flow Logs delivery to its log group",
            assume_role_policy=account.apply(lambda a: service_assume_role_policy("vpc-flow-logs.amazonaws.com", a)),
            tags=tags,
            opts=child_opts(self),
        )
        delivery = aws.iam.RolePolicy(
            f"{name}-flow-logs-delivery",
            role=role.id,
            policy=group.arn.apply(flow_log_delivery_policy),
            opts=child_opts(self),
        )
        self.flow_log = aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=self.vpc_id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=FLOW_LOG_AGGREGATION_SECONDS,
            tags=tags,
            opts=child_opts(self, depends_on=[delivery]),
        )
        return self.flow_log
