"""Realistic outputs for the GCP resource types the toolkit registers, and mocks for the
GCP functions it calls. IDs, self links, emails, registry URIs, cluster endpoints and CA
data have the shapes the real provider returns; values are deterministic."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any

from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs

from mlops_stack import catalog
from mlops_stack.gcp import checks
from mlops_stack.offline.engine import AutoNameRule, MockContext, auto_name, short_hash


def gcp_project(ctx: MockContext, inputs: Mapping[str, Any], provider_ref: str | None = None) -> str:
    """The project of a resource: its own input, its provider's, the stack's ``gcp:project``, or a placeholder."""
    return str(inputs.get("project") or ctx.provider_inputs(provider_ref).get("project") or ctx.config.get("gcp:project") or "mlops-offline")


def gcp_region(ctx: MockContext, inputs: Mapping[str, Any], provider_ref: str | None = None) -> str:
    """The region of a resource: its own region or location, its provider's, the stack's ``gcp:region``, or us-central1."""
    return str(
        inputs.get("region")
        or inputs.get("location")
        or ctx.provider_inputs(provider_ref).get("region")
        or ctx.config.get("gcp:region")
        or "us-central1"
    )

COMPUTE = "https://www.googleapis.com/compute/v1"

Rule = Callable[[MockContext, MockResourceArgs], tuple[str, dict[str, Any]]]


def numeric_id(*parts: str) -> str:
    """A Compute / Cloud DNS resource ID: an unsigned 64-bit number, 19 digits as the APIs return them."""
    return str(10**18 + int(short_hash(*parts, length=15), 16) % (9 * 10**18))


def project_number(project: str) -> str:
    """A deterministic 12-digit project number for a project ID."""
    return str(int(short_hash(project, length=10), 16) % 10**12).rjust(12, "1")


def _base(ctx: MockContext, args: MockResourceArgs) -> tuple[dict[str, Any], str, str]:
    state = dict(args.inputs)
    if "labels" in state:
        state.setdefault("effectiveLabels", state["labels"])
        state.setdefault("pulumiLabels", state["labels"])
    if "resourceLabels" in state:
        state.setdefault("effectiveLabels", state["resourceLabels"])
    project = gcp_project(ctx, state, args.provider)
    region = gcp_region(ctx, state, args.provider)
    state.setdefault("project", project)
    return state, project, region


def _name(state: dict[str, Any], args: MockResourceArgs, key: str = "name") -> str:
    name = state.get(key) or auto_name(args.name, lower=True)
    state[key] = name
    return name


def _network(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, project, _ = _base(ctx, args)
    name = _name(state, args)
    id_ = f"projects/{project}/global/networks/{name}"
    state.update(selfLink=f"{COMPUTE}/{id_}", numericId=numeric_id(project, name), gatewayIpv4="")
    return id_, state


def _regional(kind: str) -> Rule:
    def rule(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state, project, region = _base(ctx, args)
        name = _name(state, args)
        state["region"] = region
        id_ = f"projects/{project}/regions/{region}/{kind}/{name}"
        state["selfLink"] = f"{COMPUTE}/{id_}"
        return id_, state

    return rule


def _subnetwork(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    id_, state = _regional("subnetworks")(ctx, args)
    cidr = str(state.get("ipCidrRange", "10.0.0.0/24"))
    state["gatewayAddress"] = cidr.split("/")[0].rsplit(".", 1)[0] + ".1"
    return id_, state


def _router_nat(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, project, region = _base(ctx, args)
    name = _name(state, args)
    return f"{project}/{region}/{state.get('router', 'router')}/{name}", state


def _key_ring(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, project, _ = _base(ctx, args)
    name = _name(state, args)
    return f"projects/{project}/locations/{state.get('location', 'global')}/keyRings/{name}", state


def _crypto_key(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, _, _ = _base(ctx, args)
    state.pop("project", None)
    name = _name(state, args)
    return f"{state.get('keyRing', 'projects/p/locations/global/keyRings/ring')}/cryptoKeys/{name}", state


def _iam_member(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state = dict(args.inputs)
    state["etag"] = "BwY" + short_hash(args.name, length=8)
    target = state.get("cryptoKeyId") or state.get("bucket") or state.get("repository") or state.get("serviceAccountId") or state.get("project") or ""
    return f"{target}/{state.get('role', '')}/{state.get('member', '')}", state


def _service(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, project, _ = _base(ctx, args)
    return f"{project}/{state.get('service', '')}", state


_AGENT_DOMAINS = {
    "artifactregistry.googleapis.com": "gcp-sa-artifactregistry",
    "aiplatform.googleapis.com": "gcp-sa-aiplatform",
    "container.googleapis.com": "container-engine-robot",
    # Cloud SQL's service agent (Cloud SQL docs, "Use customer-managed encryption keys").
    "sqladmin.googleapis.com": "gcp-sa-cloud-sql",
}


def _service_identity(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, project, _ = _base(ctx, args)
    service = str(state.get("service", ""))
    domain = _AGENT_DOMAINS.get(service, "gcp-sa-" + service.split(".", 1)[0])
    email = f"service-{project_number(project)}@{domain}.iam.gserviceaccount.com"
    state.update(email=email, member=f"serviceAccount:{email}")
    return f"projects/{project}/services/{service}", state


def _account(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, project, _ = _base(ctx, args)
    account = state.get("accountId") or auto_name(args.name, max_length=30, lower=True)
    email = f"{account}@{project}.iam.gserviceaccount.com"
    state.update(
        accountId=account,
        email=email,
        member=f"serviceAccount:{email}",
        name=f"projects/{project}/serviceAccounts/{email}",
        uniqueId=str(int(short_hash(email, length=14), 16)).rjust(21, "1")[:21],
    )
    return state["name"], state


def _bucket(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, _, _ = _base(ctx, args)
    name = _name(state, args)
    state.update(url=f"gs://{name}", selfLink=f"https://www.googleapis.com/storage/v1/b/{name}", projectNumber=project_number(state["project"]))
    return name, state


def _repository(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, project, _ = _base(ctx, args)
    repo = state.get("repositoryId") or auto_name(args.name, lower=True)
    location = state.get("location", "us-central1")
    id_ = f"projects/{project}/locations/{location}/repositories/{repo}"
    state.update(name=repo, repositoryId=repo, registryUri=f"{location}-docker.pkg.dev/{project}/{repo}", createTime="2026-11-27T00:00:00Z")
    return id_, state


def _cluster(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, project, _ = _base(ctx, args)
    name = _name(state, args)
    location = state.get("location") or "us-central1"
    state["location"] = location
    digest = int(short_hash(name, project, length=6), 16)
    private = bool((state.get("privateClusterConfig") or {}).get("enablePrivateEndpoint"))
    endpoint = f"10.{digest % 250}.{(digest >> 8) % 250}.2" if private else f"34.{digest % 250}.{(digest >> 8) % 250}.{(digest >> 16) % 250}"
    ca = base64.b64encode(f"-----BEGIN CERTIFICATE-----\nMOCK{short_hash(name, length=32).upper()}\n-----END CERTIFICATE-----\n".encode()).decode()
    master_auth = dict(state.get("masterAuth") or {})
    master_auth["clusterCaCertificate"] = ca
    state.update(
        endpoint=endpoint,
        masterAuth=master_auth,
        selfLink=f"https://container.googleapis.com/v1/projects/{project}/locations/{location}/clusters/{name}",
        masterVersion=f"{state.get('minMasterVersion') or '1.35'}.5-gke.1000000",
        labelFingerprint=short_hash(name, length=8),
    )
    return f"projects/{project}/locations/{location}/clusters/{name}", state


def _node_pool(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, project, _ = _base(ctx, args)
    name = _name(state, args)
    location = state.get("location") or "us-central1"
    state["version"] = "1.35.5-gke.1000000"
    return f"projects/{project}/locations/{location}/clusters/{state.get('cluster', '')}/nodePools/{name}", state


def _ai_endpoint(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, project, region = _base(ctx, args)
    location = state.get("location") or region
    # ``name`` is required in pulumi-gcp 10.2.0 (magic-modules Endpoint.yaml), so left unset
    # the provider autonames it ``<logical name>-<7 hex>``; the stack sets a 9-digit ID.
    name = state.get("name") or auto_name(args.name, lower=True)
    state.update(name=name, createTime="2026-11-27T00:00:00Z", modelDeploymentMonitoringJob="")
    return f"projects/{project}/locations/{location}/endpoints/{name}", state


def _bq_dataset(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, project, region = _base(ctx, args)
    dataset = state.get("datasetId") or auto_name(args.name, lower=True).replace("-", "_")
    created = 1795737600000  # 2026-11-27T00:00:00Z, in milliseconds (BigQuery's format)
    state.update(
        datasetId=dataset,
        location=state.get("location") or region,
        selfLink=f"https://bigquery.googleapis.com/bigquery/v2/projects/{project}/datasets/{dataset}",
        etag=short_hash(project, dataset, length=22),
        creationTime=created,
        lastModifiedTime=created,
        maxTimeTravelHours=state.get("maxTimeTravelHours") or "168",
        storageBillingModel=state.get("storageBillingModel") or "LOGICAL",
        isCaseInsensitive=False,
    )
    state.setdefault("deleteContentsOnDestroy", False)
    return f"projects/{project}/datasets/{dataset}", state


def _bq_dataset_iam_member(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, project, _ = _base(ctx, args)
    state["etag"] = "BwY" + short_hash(args.name, length=8)
    return f"projects/{project}/datasets/{state.get('datasetId', '')}/{state.get('role', '')}/{state.get('member', '')}", state


def _address(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    id_, state = _regional("addresses")(ctx, args)
    if state.get("addressType") == "INTERNAL":
        # A deterministic address in the subnet's range is not known here: 10.x from the name.
        n = int(short_hash(args.name, length=4), 16)
        state.setdefault("address", f"10.{n % 250}.{(n // 250) % 250}.{n % 200 + 10}")
    else:
        state.setdefault("address", "203.0.113.10")
    return id_, state


def _forwarding_rule(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    id_, state = _regional("forwardingRules")(ctx, args)
    if state.get("target") and "/serviceAttachments/" in str(state["target"]):
        state.update(pscConnectionStatus="ACCEPTED", pscConnectionId=str(int(short_hash(args.name, length=12), 16)))
    return id_, state


def _managed_zone(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, project, _ = _base(ctx, args)
    name = _name(state, args)
    state.update(managedZoneId=int(numeric_id(project, name)), nameServers=[], creationTime="2026-11-27T00:00:00.000Z")
    return f"projects/{project}/managedZones/{name}", state


def _record_set(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, project, _ = _base(ctx, args)
    return f"projects/{project}/managedZones/{state.get('managedZone', '')}/rrsets/{state.get('name', '')}/{state.get('type', '')}", state


def _sql_instance(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    """A Cloud SQL instance with a private IP only (in the private services access range),
    its connection name and self link; no public address."""
    state, project, region = _base(ctx, args)
    name = state.get("name") or auto_name(args.name, lower=True)
    h = int(short_hash(name, length=4), 16)
    state.update(
        name=name,
        region=state.get("region") or region,
        connectionName=f"{project}:{region}:{name}",
        privateIpAddress=f"10.{100 + h % 50}.{h % 256}.3",
        publicIpAddress="",
        ipAddresses=[{"ipAddress": f"10.{100 + h % 50}.{h % 256}.3", "type": "PRIVATE"}],
        selfLink=f"https://sqladmin.googleapis.com/sql/v1beta4/projects/{project}/instances/{name}",
        serviceAccountEmailAddress=f"p{project_number(project)}-{short_hash(name, length=6)}@gcp-sa-cloud-sql.iam.gserviceaccount.com",
        dnsName=f"{short_hash(name, length=12)}.{region}.sql.goog.",
    )
    return name, state


def _sql_child(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, project, _ = _base(ctx, args)
    name = state.get("name") or auto_name(args.name, lower=True)
    state["name"] = name
    return f"projects/{project}/instances/{state.get('instance', '')}/{name}", state


def _global_address(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, project, _ = _base(ctx, args)
    name = state.get("name") or auto_name(args.name, lower=True)
    state.update(name=name, address=state.get("address") or "10.200.0.0", selfLink=f"https://www.googleapis.com/compute/v1/projects/{project}/global/addresses/{name}")
    return f"projects/{project}/global/addresses/{name}", state


def _psa_connection(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, _, _ = _base(ctx, args)
    state["peering"] = "servicenetworking-googleapis-com"
    return f"{state.get('network', '')}:{state.get('service', '')}", state


def default_resource(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, _, _ = _base(ctx, args)
    return auto_name(args.name, lower=True), state


_RFC1035 = 'pulumi_gcp 10.2.0 {} docstring: "The name must be 1-63 characters long, and comply with RFC1035"'

#: How pulumi-gcp names a resource whose name input is left out (pulumi-terraform-bridge
#: ``info.AutoName``: ``<logical name>-<7 hex>``) and the longest name the API takes; a name
#: over it is refused, never cut. Each row names the limit's source (the pinned SDK's
#: docstrings, read 2026-12-08, or the service's documented limit where the SDK is silent).
AUTONAMES: dict[str, AutoNameRule] = {
    **{
        f"gcp:compute/{module}:{kind}": AutoNameRule("name", 63, lower=True, source=_RFC1035.format(f"compute/{path}.py"))
        for module, kind, path in (
            ("network", "Network", "network"),
            ("subnetwork", "Subnetwork", "subnetwork"),
            ("router", "Router", "router"),
            ("routerNat", "RouterNat", "router_nat"),
            ("address", "Address", "address"),
            ("globalAddress", "GlobalAddress", "global_address"),
            ("forwardingRule", "ForwardingRule", "forwarding_rule"),
            ("firewall", "Firewall", "firewall"),
        )
    },
    "gcp:serviceaccount/account:Account": AutoNameRule("accountId", 30, lower=True, source='pulumi_gcp 10.2.0 serviceaccount/account.py docstring: account_id "must be 6-30 characters long"'),
    "gcp:storage/bucket:Bucket": AutoNameRule("name", 63, lower=True, source='pulumi_gcp 10.2.0 storage/bucket.py docstring: "no more than 63 characters long"'),
    "gcp:artifactregistry/repository:Repository": AutoNameRule("repositoryId", 63, lower=True, source="Artifact Registry repository names: up to 63 characters (Artifact Registry docs, create repositories)"),
    "gcp:container/cluster:Cluster": AutoNameRule("name", 40, lower=True, source="GKE cluster names: 1-40 characters (GKE docs, creating a cluster)"),
    "gcp:container/nodePool:NodePool": AutoNameRule("name", 40, lower=True, source="GKE node pool names: up to 40 characters (gcp/checks.MAX_NODE_POOL_NAME)"),
    "gcp:kms/keyRing:KeyRing": AutoNameRule("name", 63, source="Cloud KMS key ring IDs: [a-zA-Z0-9_-]{1,63} (Cloud KMS docs, resource IDs)"),
    "gcp:kms/cryptoKey:CryptoKey": AutoNameRule("name", 63, source="Cloud KMS key IDs: [a-zA-Z0-9_-]{1,63} (Cloud KMS docs, resource IDs)"),
    "gcp:dns/managedZone:ManagedZone": AutoNameRule("name", checks.MAX_COMPUTE_NAME, lower=True, source=checks.MANAGED_ZONE_NAME_SOURCE),
}


RESOURCES: dict[str, Rule] = {
    "gcp:compute/network:Network": _network,
    "gcp:compute/subnetwork:Subnetwork": _subnetwork,
    "gcp:compute/router:Router": _regional("routers"),
    "gcp:compute/routerNat:RouterNat": _router_nat,
    "gcp:kms/keyRing:KeyRing": _key_ring,
    "gcp:kms/cryptoKey:CryptoKey": _crypto_key,
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": _iam_member,
    "gcp:storage/bucketIAMMember:BucketIAMMember": _iam_member,
    "gcp:projects/iAMMember:IAMMember": _iam_member,
    "gcp:serviceaccount/iAMMember:IAMMember": _iam_member,
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": _iam_member,
    "gcp:projects/service:Service": _service,
    "gcp:projects/serviceIdentity:ServiceIdentity": _service_identity,
    "gcp:serviceaccount/account:Account": _account,
    "gcp:storage/bucket:Bucket": _bucket,
    "gcp:artifactregistry/repository:Repository": _repository,
    "gcp:container/cluster:Cluster": _cluster,
    "gcp:container/nodePool:NodePool": _node_pool,
    "gcp:vertex/aiEndpoint:AiEndpoint": _ai_endpoint,
    "gcp:bigquery/dataset:Dataset": _bq_dataset,
    "gcp:bigquery/datasetIamMember:DatasetIamMember": _bq_dataset_iam_member,
    "gcp:compute/address:Address": _address,
    "gcp:compute/forwardingRule:ForwardingRule": _forwarding_rule,
    "gcp:dns/managedZone:ManagedZone": _managed_zone,
    "gcp:dns/recordSet:RecordSet": _record_set,
    "gcp:sql/databaseInstance:DatabaseInstance": _sql_instance,
    "gcp:sql/database:Database": _sql_child,
    "gcp:sql/user:User": _sql_child,
    "gcp:compute/globalAddress:GlobalAddress": _global_address,
    "gcp:servicenetworking/connection:Connection": _psa_connection,
}


def _get_project(ctx: MockContext, args: MockCallArgs) -> dict[str, Any]:
    project = gcp_project(ctx, {"project": args.args.get("projectId")}, args.provider)
    return {"projectId": project, "number": project_number(project), "name": project, "id": f"projects/{project}", "labels": {}}


def _gcs_account(ctx: MockContext, args: MockCallArgs) -> dict[str, Any]:
    project = gcp_project(ctx, dict(args.args), args.provider)
    email = f"service-{project_number(project)}@gs-project-accounts.iam.gserviceaccount.com"
    return {"emailAddress": email, "member": f"serviceAccount:{email}", "project": project, "id": email}


def _bq_account(ctx: MockContext, args: MockCallArgs) -> dict[str, Any]:
    project = gcp_project(ctx, dict(args.args), args.provider)
    email = f"bq-{project_number(project)}@bigquery-encryption.iam.gserviceaccount.com"
    return {"email": email, "member": f"serviceAccount:{email}", "project": project, "id": email}


#: Regions whose zone letters do not start at "a".
_ZONE_LETTERS = {"us-east1": "bcd", "europe-west1": "bcd"}


def _zones(ctx: MockContext, args: MockCallArgs) -> dict[str, Any]:
    region = gcp_region(ctx, dict(args.args), args.provider)
    info = catalog.zones("gcp", region)
    names = list(info.names) if info is not None and info.names else [f"{region}-{c}" for c in _ZONE_LETTERS.get(region, "abc")]
    project = gcp_project(ctx, dict(args.args), args.provider)
    return {"names": names, "region": region, "project": project, "id": f"projects/{project}/regions/{region}"}


CALLS: dict[str, Callable[[MockContext, MockCallArgs], dict[str, Any]]] = {
    "gcp:organizations/getProject:getProject": _get_project,
    "gcp:storage/getProjectServiceAccount:getProjectServiceAccount": _gcs_account,
    "gcp:compute/getZones:getZones": _zones,
    "gcp:bigquery/getDefaultServiceAccount:getDefaultServiceAccount": _bq_account,
}
