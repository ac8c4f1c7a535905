"""AWS keys: one customer-managed KMS key with automatic rotation, used by every
resource below that can encrypt (S3, ECR, EKS secrets, CloudWatch Logs, SageMaker).

Given the stack's Network (``KeysArgs.network``), it turns on the network's VPC flow
logs into a log group encrypted with this key (the network exists before the key)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mlops_stack.args import KeysArgs, child_opts, merge_opts, resource_tags, stateful_opts
from mlops_stack.aws._shared import identity
from mlops_stack.aws.policies import kms_key_policy


class Keys(pulumi.ComponentResource):
    """``mlops:aws:Keys``. Outputs: ``key_arn``, ``key_id``, ``alias``."""

    key_arn: pulumi.Output[str]
    key_id: pulumi.Output[str]
    alias: pulumi.Output[str]
    #: Key child resources, exposed for wiring what the stack does not (docs/components.md).
    CHILDREN = ('key',)
    key: aws.kms.Key

    def __init__(self, name: str, args: KeysArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:Keys", name, None, merge_opts(opts))
        env = args.env
        account, partition = identity(self)
        policy = pulumi.Output.all(account, partition).apply(lambda v: kms_key_policy(v[0], v[1], env.region))
        key = aws.kms.Key(
            f"{name}-key",
            description=f"mlops-stack {env.prefix}: data at rest",
            enable_key_rotation=True,
            rotation_period_in_days=args.rotation_days,
            deletion_window_in_days=args.deletion_window_days,
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",
            policy=policy,
            tags=resource_tags(env),
            opts=stateful_opts(self, env),
        )
        alias = aws.kms.Alias(f"{name}-alias", name=f"alias/{env.prefix}", target_key_id=key.key_id, opts=child_opts(self))
        enable_flow_logs = getattr(args.network, "enable_flow_logs", None)
        if callable(enable_flow_logs):
            enable_flow_logs(key.arn)
        self.key_arn = key.arn
        self.key_id = key.key_id
        self.alias = alias.name
        self.key = key
        self.register_outputs({"key_arn": self.key_arn, "key_id": self.key_id, "alias": self.alias})
