"""GCP: the service accounts (the function's, and the build's own) and their grants, each on
one resource or condition only. See docs/architecture.md (permissions)."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from stacks.config import StackConfig

# Read, create, list and delete objects; nothing on the bucket's own settings or IAM.
EVENTS_ROLE = "roles/storage.objectUser"

# The build's own account (Cloud Build stopped granting the default one these in new projects
# from July 2024): write build logs and the built image. It reads the source that Cloud
# Functions copies into its `gcf-v2-sources-*` bucket, and no other bucket (IAM condition).
# Google's list for a custom build account is these three roles, objectViewer project-wide
# ("Custom Service Account for Cloud Build", cloud.google.com/functions/docs/securing/
# build-custom-sa); ours narrows the last to the sources buckets.
BUILD_ROLES = ("roles/logging.logWriter", "roles/artifactregistry.writer")
SOURCES_CONDITION = 'resource.name.startsWith("projects/_/buckets/gcf-v2-sources-")'


def service_account(
    name: str, account_id: str, purpose: str, config: StackConfig, opts: pulumi.ResourceOptions
) -> gcp.serviceaccount.Account:
    return gcp.serviceaccount.Account(
        name,
        account_id=account_id[:28].rstrip("-"),
        display_name=f"LAMBDA {purpose} ({config.stack})",
        project=config.gcp_project,
        opts=opts,
    )


def build_grants(
    name: str,
    config: StackConfig,
    builder: gcp.serviceaccount.Account,
    opts: pulumi.ResourceOptions,
) -> list[pulumi.Resource]:
    grants: list[pulumi.Resource] = [
        gcp.projects.IAMMember(
            f"{name}-build-{role.split('/')[1].split('.')[0]}",
            project=config.gcp_project,
            role=role,
            member=builder.member,
            opts=opts,
        )
        for role in BUILD_ROLES
    ]
    grants.append(
        gcp.projects.IAMMember(
            f"{name}-build-sources",
            project=config.gcp_project,
            role="roles/storage.objectViewer",
            member=builder.member,
            condition=gcp.projects.IAMMemberConditionArgs(
                title="gcf-v2-sources only", expression=SOURCES_CONDITION
            ),
            opts=opts,
        )
    )
    return grants


def secret_variable(
    name: str,
    config: StackConfig,
    key: str,
    value: pulumi.Output[str],
    reader: gcp.serviceaccount.Account,
    opts: pulumi.ResourceOptions,
) -> tuple[
    gcp.cloudfunctionsv2.FunctionServiceConfigSecretEnvironmentVariableArgs, list[pulumi.Resource]
]:
    """One secret in Secret Manager, readable by `reader` alone, as the function's environment
    variable `key` at its pinned version; with what the function must wait for."""
    slug = key.lower().replace("_", "-")
    secret = gcp.secretmanager.Secret(
        f"{name}-{slug}",
        secret_id=f"{config.prefix}-{slug}",
        project=config.gcp_project,
        replication=gcp.secretmanager.SecretReplicationArgs(
            auto=gcp.secretmanager.SecretReplicationAutoArgs()
        ),
        labels=config.tags,
        opts=opts,
    )
    version = gcp.secretmanager.SecretVersion(
        f"{name}-{slug}-value", secret=secret.id, secret_data=value, opts=opts
    )
    access = gcp.secretmanager.SecretIamMember(
        f"{name}-{slug}-access",
        project=config.gcp_project,
        secret_id=secret.secret_id,
        role="roles/secretmanager.secretAccessor",
        member=reader.member,
        opts=opts,
    )
    variable = gcp.cloudfunctionsv2.FunctionServiceConfigSecretEnvironmentVariableArgs(
        key=key, project_id=config.gcp_project, secret=secret.secret_id, version=version.version
    )
    return variable, [access, version]
