"""mlops-stack: `pulumi up -s <stack>` runs this. The spec is this stack's config."""

from mlops_stack.program import main

main()
