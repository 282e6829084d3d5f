"""Azure: the identity that resolves the app's Key Vault references, granted before the app
exists. See docs/deploying.md (what each stack creates).

App Service resolves `@Microsoft.KeyVault(...)` app settings when the app starts and caches a
reference it could not resolve (refetched about every 24 hours, or on a configuration change),
handing the literal string to the app meanwhile ("Use Key Vault references as app settings",
learn.microsoft.com/azure/app-service/app-service-key-vault-references: rotation and
troubleshooting). A system-assigned identity exists only once the app does, so its grant can
only come after the app first started. A user-assigned identity is created, and granted Key
Vault Secrets User on the vault, before the app: the app names it in
`keyVaultReferenceIdentity` and depends on the grant, so its host first starts able to read.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure

# Key Vault Secrets User: read secret values, nothing else, granted on this vault only.
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"


@dataclass(frozen=True)
class VaultReader:
    identity: azure.managedidentity.UserAssignedIdentity
    grant: azure.authorization.RoleAssignment


def role_definition(subscription: pulumi.Output[str], role: str) -> pulumi.Output[str]:
    return subscription.apply(
        lambda sub: f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role}"
    )


def vault_reader(
    name: str,
    group: azure.resources.ResourceGroup,
    location: str,
    tags: dict[str, str],
    vault: azure.keyvault.Vault,
    subscription: pulumi.Output[str],
    opts: pulumi.ResourceOptions,
) -> VaultReader:
    identity = azure.managedidentity.UserAssignedIdentity(
        f"{name}-vault-identity",
        resource_group_name=group.name,
        location=location,
        tags=tags,
        opts=opts,
    )
    grant = azure.authorization.RoleAssignment(
        f"{name}-vault-reader",
        principal_id=identity.principal_id,
        principal_type="ServicePrincipal",
        role_definition_id=role_definition(subscription, KEY_VAULT_SECRETS_USER),
        scope=vault.id,
        opts=opts,
    )
    return VaultReader(identity, grant)
