"""The toy target's two capabilities."""

from __future__ import annotations

from typing import Any

import pulumi


class _Vlan(pulumi.CustomResource):
    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
        super().__init__("toy:index:Vlan", name, props, opts)


class _Bucket(pulumi.CustomResource):
    id: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
        super().__init__("toy:index:Bucket", name, props, opts)


class Network(pulumi.ComponentResource):
    cidr: str

    def __init__(self, name: str, args: Any, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:toy:Network", name, None, opts)
        self.cidr = args.cidr
        _Vlan(f"{name}-vlan", {"cidr": args.cidr}, pulumi.ResourceOptions(parent=self))
        self.register_outputs({"cidr": self.cidr})


class ArtifactStore(pulumi.ComponentResource):
    bucket_uris: dict[str, pulumi.Output[str]]
    bucket_names: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: Any, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:toy:ArtifactStore", name, None, opts)
        self.bucket_uris, self.bucket_names = {}, {}
        for bucket in args.storage.buckets:
            b = _Bucket(f"{name}-{bucket.name}", {"versioning": bucket.versioning}, pulumi.ResourceOptions(parent=self))
            self.bucket_names[bucket.name] = b.id
            self.bucket_uris[bucket.name] = pulumi.Output.concat("toy://", b.id)
        self.register_outputs({"bucket_uris": self.bucket_uris, "bucket_names": self.bucket_names})
