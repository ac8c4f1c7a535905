"""What every target's ``PostgresDatabase`` shares (neutral; no provider SDK): the
PostgreSQL major version, the port, the generated password and the connection URI."""

from __future__ import annotations

import pulumi
import pulumi_random as random

from mlops_stack.args import child_opts

#: PostgreSQL major version, the same on every cloud (RDS ``17``, Cloud SQL ``POSTGRES_17``,
#: Azure flexible server ``17``). 18 is offered by the pinned SDKs too (pulumi-gcp 10.2.0
#: ``POSTGRES_18``, pulumi-azure-native 3.29.0 ``PostgresMajorVersion`` ``18``; RDS takes
#: any major); 17 stays because changing it is an in-place major upgrade of every existing
#: tracking database on three clouds (downtime; RDS needs ``allow_major_version_upgrade``),
#: to be done with its own tested path, and 17 is in Cloud SQL's regular support until
#: 2030-02-01 (docs/gcp.md, issue 25). Minor versions are upgraded by each service in the
#: maintenance window.
POSTGRES_MAJOR = "17"
PORT = 5432
PASSWORD_LENGTH = 32


def connection_uri(user: str, password: pulumi.Input[str], host: pulumi.Input[str], port: int, database: pulumi.Input[str]) -> pulumi.Output[str]:
    """``postgresql://user:password@host:port/db?sslmode=require``, secret (it holds the
    password; the generated password is letters and digits, so nothing needs escaping)."""
    return pulumi.Output.secret(pulumi.Output.format("postgresql://{0}:{1}@{2}:{3}/{4}?sslmode=require", user, password, host, port, database))


def generated_password(parent: pulumi.Resource, name: str) -> random.RandomPassword:
    """A generated database password: 32 letters and digits (its ``result`` is secret)."""
    return random.RandomPassword(name, length=PASSWORD_LENGTH, special=False, min_upper=2, min_lower=2, min_numeric=2, opts=child_opts(parent))
