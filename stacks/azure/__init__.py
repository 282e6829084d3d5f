"""Azure: the function app (Flex Consumption or Linux Consumption), its storage account and
Key Vault, and the program's own ARM calls for what azure-native cannot do. See
docs/deploying.md."""

from stacks.azure.function import AzureFunction, AzureOutputs

__all__ = ["AzureFunction", "AzureOutputs"]
