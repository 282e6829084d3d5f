"""The cloud-agnostic core: it imports no cloud SDK and no Pulumi."""
