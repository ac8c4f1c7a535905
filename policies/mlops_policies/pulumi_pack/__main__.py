"""The mlops-stack CrossGuard policy pack (`pulumi preview --policy-pack <this folder>`)."""

from mlops_policies.pack import serve

serve()
