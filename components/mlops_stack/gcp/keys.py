"""GCP keys: one Cloud KMS key ring in the stack's region and one symmetric key per
purpose (storage, registry, cluster secrets, node disks, Vertex AI, BigQuery), each with
automatic rotation, and each usable only by the one Google service agent that needs it.

Rotation: Cloud KMS accepts any period >= 1 day; this toolkit caps it at 90 days on
GCP (CIS GCP 1.10), so the spec's default of 365 becomes 90 here (``rotation_days``
output shows the effective value). One key per purpose keeps each grant minimal: the
Artifact Registry agent cannot decrypt bucket data and vice versa.

Key rings cannot be deleted on GCP (only their key versions are destroyed), so rings
and keys are auto-named (a fresh suffix on every create) and protected in prod.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from mlops_stack.args import KeysArgs, child_opts, merge_opts, resource_tags, stateful_opts
from mlops_stack.gcp._shared import KMS_ENCRYPTER_DECRYPTER, enable_services, labels, project_info

#: The longest rotation period this toolkit allows on GCP (days).
MAX_ROTATION_DAYS = 90
SECONDS_PER_DAY = 86400

#: purpose -> the API whose service agent encrypts with the key.
PURPOSES: dict[str, str] = {
    "storage": "storage.googleapis.com",
    "registry": "artifactregistry.googleapis.com",
    "cluster": "container.googleapis.com",
    "disks": "compute.googleapis.com",
    "vertex": "aiplatform.googleapis.com",
    # Endpoint request-response logging (data capture) lands in BigQuery datasets.
    "bigquery": "bigquery.googleapis.com",
}

#: Service agents whose email is fixed once the API is enabled (by project number).
FIXED_AGENTS: dict[str, str] = {
    "cluster": "service-{number}@container-engine-robot.iam.gserviceaccount.com",
    "disks": "service-{number}@compute-system.iam.gserviceaccount.com",
}
#: Service agents created on demand (``gcp.projects.ServiceIdentity``).
IDENTITY_AGENTS = ("registry", "vertex")
#: Fixed-name agents that are also generated explicitly (``ServiceIdentity``) before their
#: grant, so the grant does not race the agent's creation after the API is enabled. The
#: email stays the fixed one (Service Usage may generate an identity without returning an
#: email: hashicorp/terraform-provider-google issue 18649). GKE's agent can be generated
#: this way (GoogleCloudPlatform/k8s-config-connector issue 340 uses it for
#: container.googleapis.com); Compute Engine's cannot (``generateServiceIdentity`` refuses
#: compute.googleapis.com: terraform-google-modules/terraform-google-project-factory PR
#: 628), so its grant waits for the API only, and ``mlops-stack preflight`` checks that the
#: agent exists (docs/gcp.md).
GENERATED_FIXED_AGENTS = ("cluster",)


def effective_rotation_days(days: int) -> int:
    return max(1, min(days, MAX_ROTATION_DAYS))


def rotation_period(days: int) -> str:
    """Cloud KMS duration text for a rotation period: 90 -> ``"7776000s"`` (capped at 90 days)."""
    return f"{effective_rotation_days(days) * SECONDS_PER_DAY}s"


def destroy_duration(days: int) -> str:
    """How long a destroyed key version stays restorable: 30 -> ``"2592000s"``."""
    return f"{days * SECONDS_PER_DAY}s"


class Keys(pulumi.ComponentResource):
    """``mlops:gcp:Keys``. Outputs: ``key_ring_id``, ``key_ids`` (per purpose:
    storage, registry, cluster, disks, vertex, bigquery), ``service_agents`` (per purpose),
    ``rotation_days`` (effective)."""

    key_ring_id: pulumi.Output[str]
    key_ids: dict[str, pulumi.Output[str]]
    service_agents: dict[str, pulumi.Output[str]]
    rotation_days: int
    #: Key child resources, exposed for wiring what the stack does not (docs/components.md).
    CHILDREN = ('key_ring', 'crypto_keys')
    key_ring: gcp.kms.KeyRing
    crypto_keys: dict[str, gcp.kms.CryptoKey]

    def __init__(self, name: str, args: KeysArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:gcp:Keys", name, None, merge_opts(opts))
        env = args.env
        project, number = project_info(self)
        apis = enable_services(self, name, ["cloudkms.googleapis.com", *PURPOSES.values()])

        ring = gcp.kms.KeyRing(f"{name}-ring", location=env.region, opts=stateful_opts(self, env, depends_on=apis))

        agents: dict[str, pulumi.Output[str]] = {
            "storage": gcp.storage.get_project_service_account_output(
                project=project, opts=pulumi.InvokeOutputOptions(parent=self, depends_on=apis)
            ).email_address,
            # BigQuery's encryption service account (projects.getServiceAccount:
            # bq-<number>@bigquery-encryption.iam.gserviceaccount.com): it uses a dataset's CMEK.
            "bigquery": gcp.bigquery.get_default_service_account_output(
                project=project, opts=pulumi.InvokeOutputOptions(parent=self, depends_on=apis)
            ).email,
        }
        agent_deps: dict[str, list[pulumi.Resource]] = {}
        for purpose, template in FIXED_AGENTS.items():
            agents[purpose] = number.apply(lambda n, t=template: t.format(number=n))
            if purpose in GENERATED_FIXED_AGENTS:
                agent_deps[purpose] = [
                    gcp.projects.ServiceIdentity(
                        f"{name}-agent-{purpose}", service=PURPOSES[purpose], project=project, opts=child_opts(self, depends_on=apis)
                    )
                ]
        for purpose in IDENTITY_AGENTS:
            identity = gcp.projects.ServiceIdentity(
                f"{name}-agent-{purpose}", service=PURPOSES[purpose], project=project, opts=child_opts(self, depends_on=apis)
            )
            agents[purpose] = identity.email

        self.key_ids, self.crypto_keys = {}, {}
        for purpose in PURPOSES:
            key = gcp.kms.CryptoKey(
                f"{name}-{purpose}",
                key_ring=ring.id,
                purpose="ENCRYPT_DECRYPT",
                rotation_period=rotation_period(args.rotation_days),
                destroy_scheduled_duration=destroy_duration(args.deletion_window_days),
                version_template=gcp.kms.CryptoKeyVersionTemplateArgs(algorithm="GOOGLE_SYMMETRIC_ENCRYPTION", protection_level="SOFTWARE"),
                labels=labels(resource_tags(env, **{"mlops-stack-key": purpose})),
                opts=stateful_opts(self, env),
            )
            gcp.kms.CryptoKeyIAMMember(
                f"{name}-{purpose}-agent",
                crypto_key_id=key.id,
                role=KMS_ENCRYPTER_DECRYPTER,
                member=pulumi.Output.concat("serviceAccount:", agents[purpose]),
                # The fixed-name agents (GKE, Compute) exist only once their API is enabled
                # (GKE's is also generated explicitly first).
                opts=child_opts(self, depends_on=[*apis, *agent_deps.get(purpose, [])]),
            )
            self.key_ids[purpose] = key.id
            self.crypto_keys[purpose] = key

        self.key_ring_id = ring.id
        self.key_ring = ring
        self.service_agents = agents
        self.rotation_days = effective_rotation_days(args.rotation_days)
        self.register_outputs(
            {"key_ring_id": self.key_ring_id, "key_ids": self.key_ids, "service_agents": self.service_agents, "rotation_days": self.rotation_days}
        )
