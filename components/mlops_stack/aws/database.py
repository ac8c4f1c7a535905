"""AWS PostgreSQL: an RDS for PostgreSQL instance in the stack's private subnets.

Private only (no public address; a security group admitting PostgreSQL from the VPC's
range only), storage encrypted with the stack key, automated backups with point-in-time
recovery for ``backup_retention_days``, Multi-AZ in prod, deletion protection and a final
snapshot in prod (and ``protect`` + retain on delete), TLS required (RDS for PostgreSQL 15
and later default ``rds.force_ssl`` to 1), no RDS extended support (it bills per vCPU-hour).
The master password is generated (``random.RandomPassword``) and only ever travels as a
secret: into the instance and into the ``connection_uris`` output.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mlops_stack.args import PostgresDatabaseArgs, child_opts, merge_opts, resource_tags, stateful_opts
from mlops_stack.aws._shared import key_arn
from mlops_stack.aws.policies import rds_windows
from mlops_stack.errors import ConfigError
from mlops_stack.postgres import PORT, POSTGRES_MAJOR, connection_uri, generated_password

#: size -> RDS instance class (Graviton; burstable for small).
INSTANCE_CLASSES = {"small": "db.t4g.small", "medium": "db.m7g.large", "large": "db.m7g.xlarge"}
#: Storage autoscaling ceiling: this many times the allocated size.
MAX_STORAGE_FACTOR = 4


class PostgresDatabase(pulumi.ComponentResource):
    """``mlops:aws:PostgresDatabase``. Outputs: ``host``, ``port``, ``connection_uris``
    (database -> secret URI), ``instance_arn``, ``security_group_id``."""

    host: pulumi.Output[str]
    port: int
    connection_uris: dict[str, pulumi.Output[str]]
    instance_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: PostgresDatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:PostgresDatabase", name, None, merge_opts(opts))
        env, net = args.env, args.network
        if len(args.databases) != 1:
            # RDS creates exactly one database at launch; more need a SQL client at apply time.
            raise ConfigError("PostgresDatabaseArgs.databases", "RDS creates one database per instance here", "pass one database", value=list(args.databases))
        tags = resource_tags(env, **{"mlops-stack-role": "tracking-db"})
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=net.private_subnet_ids,
            description=f"{env.prefix} PostgreSQL: private subnets only",
            tags=tags,
            opts=child_opts(self),
        )
        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=net.vpc_id,
            description=f"{env.prefix} PostgreSQL: from the VPC only",
            ingress=[aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=PORT, to_port=PORT, cidr_blocks=[net.cidr], description="PostgreSQL from the VPC")],
            egress=[],
            tags=tags,
            opts=child_opts(self),
        )
        password = generated_password(self, f"{name}-password")
        maintenance, backup = rds_windows(args.maintenance_window)
        prod = env.is_prod
        database = args.databases[0]
        instance = aws.rds.Instance(
            f"{name}-instance",
            engine="postgres",
            engine_version=POSTGRES_MAJOR,
            engine_lifecycle_support="open-source-rds-extended-support-disabled",
            instance_class=INSTANCE_CLASSES[args.size],
            allocated_storage=args.storage_gb,
            max_allocated_storage=args.storage_gb * MAX_STORAGE_FACTOR,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=key_arn(args.keys),
            db_name=database,
            username=args.username,
            password=password.result,
            port=PORT,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[sg.id],
            publicly_accessible=False,
            multi_az=args.ha,
            backup_retention_period=args.backup_retention_days,
            backup_window=backup,
            maintenance_window=maintenance,
            copy_tags_to_snapshot=True,
            delete_automated_backups=not prod,
            deletion_protection=prod,
            skip_final_snapshot=not prod,
            final_snapshot_identifier=f"{env.prefix}-mlflow-final" if prod else None,
            auto_minor_version_upgrade=True,
            enabled_cloudwatch_logs_exports=["postgresql"],
            performance_insights_enabled=False,
            tags=tags,
            opts=stateful_opts(self, env),
        )
        self.host = instance.address
        self.port = PORT
        self.connection_uris = {database: connection_uri(args.username, password.result, instance.address, PORT, database)}
        self.instance_arn = instance.arn
        self.security_group_id = sg.id
        self.register_outputs(
            {"host": self.host, "port": self.port, "connection_uris": self.connection_uris, "instance_arn": self.instance_arn, "security_group_id": self.security_group_id}
        )
