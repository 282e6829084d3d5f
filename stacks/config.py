"""Every `pulumi.Config` read of the program, in one place, into a frozen settings object.

Keys with a fixed default are declared in Pulumi.yaml with that same default (DEFAULTS below; a
test keeps the two equal), so the CLI applies and type-checks them before the program runs. Keys
whose default depends on the stack (cloud, region, architecture, GCP project) and the secrets
(`peerSecret`, `webhooks`) are not declared: a declared key without a default is required on
every stack, and a declared secret key with a default fails the CLI's own validation. See
docs/deploying.md (settings).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi

from stacks.siblings import SiblingsUnknown, listed_stacks, siblings

CLOUDS = ("aws", "gcp", "azure")
DEFAULT_ARCH = {"aws": "arm64", "gcp": "x86_64", "azure": "x86_64"}

# The defaults of the keys Pulumi.yaml declares, by key (tests/infra/test_cli_checks.py).
DEFAULTS: dict[str, str | int | bool] = {
    "pythonVersion": "3.12",
    "memoryMb": 512,
    "timeoutSeconds": 30,
    "jobTimeoutSeconds": 540,
    "logRetentionDays": 14,
    "azurePlan": "flex",
    "peerStacks": "",
    "maxBodyBytes": 1024 * 1024,
    "fanoutTimeoutMs": 2000,
    "outboxMaxAttempts": 12,
    "retryScheduleMinutes": 1,
    "reconcileScheduleHours": 1,
    "minInstances": 0,
    "snapStart": False,
    "athenaScanLimitMb": 10240,
    "queryReader": "",
}
ZERO_ALLOWED = frozenset({"minInstances"})

# Where each cloud's provider takes its region, and the one line that sets it.
REGION_KEYS = {
    "aws": ("aws", "region"),
    "gcp": ("gcp", "region"),
    "azure": ("azure-native", "location"),
}
# The GCP provider falls back to these (in this order) when gcp:project is unset.
GCP_PROJECT_ENV = (
    "GOOGLE_PROJECT",
    "GOOGLE_CLOUD_PROJECT",
    "GCLOUD_PROJECT",
    "CLOUDSDK_CORE_PROJECT",
)


@dataclass(frozen=True)
class AzureAuth:
    """How azure-native authenticates, from its own config keys (`azure-native:clientId`, ...).
    The program's own ARM calls (One Deploy) use the same, with the provider's `ARM_*`
    environment variables as the fallback (stacks/azure/arm.py)."""

    settings: dict[str, str] = field(default_factory=dict)
    client_secret: pulumi.Output[str] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class StackConfig:
    """The stack's settings (see Pulumi.yaml, Pulumi.<stack>.yaml and docs/configuration.md)."""

    cloud: str
    project: str
    stack: str
    region: str
    python: str
    arch: str
    memory_mb: int
    timeout_s: int
    log_retention_days: int
    peer_stacks: tuple[str, ...]
    job_timeout_s: int = 540
    gcp_project: str | None = None
    azure_plan: str = "flex"
    max_body_bytes: int = 1024 * 1024
    fanout_timeout_s: float = 2.0
    retry_timeout_s: float = 30.0
    outbox_max_attempts: int = 12
    retry_schedule_minutes: int = 1
    reconcile_schedule_hours: int = 1
    min_instances: int = 0
    snap_start: bool = False
    athena_scan_limit_mb: int = 10240
    query_reader: str | None = None
    azure_auth: AzureAuth = field(default_factory=AzureAuth)
    # Set only to override the generated per-stack signing key (stacks/peers.py).
    peer_secret: pulumi.Output[str] | None = field(default=None, compare=False)
    webhooks: pulumi.Output[str] | None = field(default=None, compare=False)

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.stack}"[:40]

    @property
    def tags(self) -> dict[str, str]:
        """On every resource that takes tags or labels (lower case: GCP labels require it)."""
        return {"project": self.project.lower(), "stack": self.stack.lower(), "cloud": self.cloud}


class ConfigMistake(pulumi.RunError):
    """A setting the user must fix: the CLI prints the message alone, without a traceback."""


def resolve_peer_stacks(raw: str, org: str, project: str, stack: str) -> tuple[str, ...]:
    """`lambda:peerStacks` is a comma-separated list of stacks, bare (`gcp`, resolved in this
    org and project) or fully qualified (`org/project/stack`). The stack itself is dropped, so
    all three stacks of a mesh can share one value: `aws,gcp,azure`."""
    resolved = []
    for name in (part.strip() for part in raw.split(",")):
        if not name:
            continue
        if name.count("/") not in (0, 2):
            raise ConfigMistake(
                f"lambda:peerStacks: {name!r} is neither a stack name nor org/project/stack"
            )
        full = name if "/" in name else f"{org}/{project}/{name}"
        if full != f"{org}/{project}/{stack}" and full not in resolved:
            resolved.append(full)
    return tuple(resolved)


def _peer_stacks(raw: str, project: str, stack: str, environ: Mapping[str, str]) -> tuple[str, ...]:
    """`lambda:peerStacks` when set (`none`: a lone stack on purpose); unset, the project's
    other cloud stacks that exist in the current backend (stacks/siblings.py)."""
    org = pulumi.get_organization()
    if raw.strip().lower() == "none":
        return ()
    if raw.strip():
        return resolve_peer_stacks(raw, org, project, stack)
    try:
        names = listed_stacks(project, environ)
    except SiblingsUnknown as error:
        raise ConfigMistake(
            f"lambda:peerStacks is unset and `pulumi stack ls` failed ({error}): name the "
            "peers (pulumi config set lambda:peerStacks aws,gcp,azure) or set it to none"
        ) from None
    return () if names is None else siblings(org, project, stack, names)


def _int(config: pulumi.Config, key: str) -> int:
    value = config.get_int(key)
    return int(DEFAULTS[key]) if value is None else value


def _snap_start(config: pulumi.Config, cloud: str, min_instances: int) -> bool:
    """`lambda:snapStart`: AWS Lambda's, for Python 3.12 and later, on versions without
    provisioned concurrency (AWS documents the two as exclusive). Neither other provider has a
    comparable option for these functions (docs/deploying.md, SnapStart)."""
    wanted = config.get_bool("snapStart") or False
    if not wanted:
        return False
    python = config.get("pythonVersion") or str(DEFAULTS["pythonVersion"])
    if cloud != "aws":
        raise ConfigMistake(
            f"lambda:snapStart is AWS Lambda's; {cloud} has no comparable option for these "
            "functions: pulumi config rm lambda:snapStart"
        )
    if tuple(int(part) for part in python.split(".")[:2]) < (3, 12):
        raise ConfigMistake(f"lambda:snapStart needs Python 3.12 or later, not {python}")
    if min_instances:
        raise ConfigMistake(
            "lambda:snapStart and lambda:minInstances exclude each other on AWS (SnapStart does "
            "not run on provisioned concurrency): set one of them"
        )
    return True


def _positive(key: str, value: int) -> int:
    if value < 0 or (value == 0 and key not in ZERO_ALLOWED):
        raise ConfigMistake(f"lambda:{key} must be a positive integer, not {value}")
    return value


def process_environment(**overrides: str) -> dict[str, str]:
    """The environment of the process running the program, for the tools it starts (uv, the
    target's Python) and the Azure credentials its dynamic providers read: read here, with the
    rest of the program's configuration, and nowhere else in stacks/."""
    return {**os.environ, **overrides}


def load(environ: Mapping[str, str] | None = None) -> StackConfig:
    environ = os.environ if environ is None else environ
    config = pulumi.Config()
    project, stack = pulumi.get_project(), pulumi.get_stack()
    cloud = config.get("cloud") or stack
    if cloud not in CLOUDS:
        raise ConfigMistake(
            f"lambda:cloud must be one of {', '.join(CLOUDS)}, not {cloud!r} (it defaults to the "
            f"stack name): pulumi config set lambda:cloud aws"
        )
    ints = {
        key: _positive(key, _int(config, key))
        for key, v in DEFAULTS.items()
        if isinstance(v, int) and not isinstance(v, bool)
    }
    if not 1 <= ints["retryScheduleMinutes"] <= 59:
        # Cloud Scheduler's and Azure's cron take a minute step below 60 only (*/N).
        raise ConfigMistake(
            "lambda:retryScheduleMinutes must be 1 to 59 (a cron minute step), "
            f"not {ints['retryScheduleMinutes']}"
        )
    if not 1 <= ints["reconcileScheduleHours"] <= 24:
        raise ConfigMistake(
            "lambda:reconcileScheduleHours must be 1 to 24 (a cron hour step), "
            f"not {ints['reconcileScheduleHours']}"
        )
    retry_timeout_s = _retry_timeout(config, ints)
    plan = _azure_plan(config.get("azurePlan") or str(DEFAULTS["azurePlan"]), cloud, ints)
    snap_start = _snap_start(config, cloud, ints["minInstances"])
    return StackConfig(
        cloud=cloud,
        project=project,
        stack=stack,
        region=config.get("region") or _provider_region(cloud),
        python=config.get("pythonVersion") or str(DEFAULTS["pythonVersion"]),
        arch=config.get("architecture") or DEFAULT_ARCH[cloud],
        memory_mb=ints["memoryMb"],
        timeout_s=ints["timeoutSeconds"],
        job_timeout_s=ints["jobTimeoutSeconds"],
        log_retention_days=ints["logRetentionDays"],
        peer_stacks=_peer_stacks(config.get("peerStacks") or "", project, stack, environ),
        gcp_project=_gcp_project(config, environ) if cloud == "gcp" else None,
        azure_plan=plan,
        max_body_bytes=ints["maxBodyBytes"],
        fanout_timeout_s=ints["fanoutTimeoutMs"] / 1000,
        retry_timeout_s=retry_timeout_s,
        outbox_max_attempts=ints["outboxMaxAttempts"],
        retry_schedule_minutes=ints["retryScheduleMinutes"],
        reconcile_schedule_hours=ints["reconcileScheduleHours"],
        min_instances=ints["minInstances"],
        snap_start=snap_start,
        athena_scan_limit_mb=ints["athenaScanLimitMb"],
        query_reader=config.get("queryReader") or None,
        azure_auth=_azure_auth() if cloud == "azure" else AzureAuth(),
        peer_secret=config.get_secret("peerSecret"),
        webhooks=_webhooks(config),
    )


# The instance sizes Flex Consumption offers a Python app (learn.microsoft.com,
# flex-consumption-plan.md, "Instance memory"); its 512 MB size runs a quarter of a core, too
# little for the function's first webhook, so 2048 is the least the stack deploys.
FLEX_INSTANCE_MB = (2048, 4096)
FLEX_LARGEST_MB = FLEX_INSTANCE_MB[-1]


def flex_instance_mb(memory_mb: int) -> int:
    """The smallest Flex instance size that holds `lambda:memoryMb` (load() refuses one above
    the largest before anything is built)."""
    return next(size for size in FLEX_INSTANCE_MB if size >= memory_mb)


def _retry_timeout(config: pulumi.Config, ints: Mapping[str, int]) -> float:
    """`lambda:retryTimeoutSeconds`, by default the functions' own (30 s, or a quarter of the
    job's timeout if less, never under the webhook's bound: not declared in Pulumi.yaml, its
    default depends on those keys). The functions refuse to start with one over 300 s, over a
    quarter of the job's timeout or under the webhook's bound (functions/core/settings.py):
    stop here instead, before anything is built."""
    quarter = ints["jobTimeoutSeconds"] / 4
    value = config.get_int("retryTimeoutSeconds")
    if value is None:  # never under the webhook's bound, as the functions' default
        return max(ints["fanoutTimeoutMs"] / 1000, min(30.0, quarter))
    limit = min(300, ints["jobTimeoutSeconds"] // 4)
    if value > limit:
        raise ConfigMistake(
            f"lambda:retryTimeoutSeconds must be at most {limit} (300, and a quarter of "
            f"lambda:jobTimeoutSeconds), not {value}"
        )
    if value < ints["fanoutTimeoutMs"] / 1000:
        raise ConfigMistake(
            f"lambda:retryTimeoutSeconds must be at least lambda:fanoutTimeoutMs "
            f"({ints['fanoutTimeoutMs'] / 1000:g} s), not {value}"
        )
    return float(value)


def _azure_plan(plan: str, cloud: str, ints: Mapping[str, int]) -> str:
    if plan not in ("flex", "consumption"):
        raise ConfigMistake(f"lambda:azurePlan must be flex or consumption, not {plan!r}")
    if cloud == "azure" and plan == "flex" and ints["memoryMb"] > FLEX_LARGEST_MB:
        raise ConfigMistake(
            f"lambda:memoryMb must be at most {FLEX_LARGEST_MB} on Flex Consumption (its largest "
            f"instance; a smaller setting takes the next size up, 2048 or 4096), not "
            f"{ints['memoryMb']}"
        )
    if cloud != "azure" or plan != "consumption":
        return plan
    if ints["minInstances"]:
        raise ConfigMistake(
            "lambda:minInstances needs Flex Consumption (Linux Consumption has no always-ready "
            "instances): pulumi config set lambda:azurePlan flex"
        )
    if ints["jobTimeoutSeconds"] > 600:
        # Linux Consumption stops any run at functionTimeout, which it caps at 10 minutes.
        raise ConfigMistake(
            "lambda:jobTimeoutSeconds must be at most 600 on Linux Consumption (its cap on a "
            f"run), not {ints['jobTimeoutSeconds']}: lower it, or pulumi config set "
            "lambda:azurePlan flex"
        )
    return plan


def _webhooks(config: pulumi.Config) -> pulumi.Output[str] | None:
    """lambda:webhooks (secret object): {"github": {"scheme": "github", "secret": "..."}}."""
    rules = config.get_secret_object("webhooks")
    return None if rules is None else pulumi.Output.secret(rules.apply(json.dumps))


def _provider_region(cloud: str) -> str:
    namespace, key = REGION_KEYS[cloud]
    value = pulumi.Config(namespace).get(key)
    if not value:
        raise ConfigMistake(
            f"the {cloud} stack needs a region: pulumi config set {namespace}:{key} <region>"
        )
    return value


def _gcp_project(config: pulumi.Config, environ: Mapping[str, str]) -> str:
    """The project every GCP resource goes into: lambda:gcpProject, gcp:project, or the
    environment variables the GCP provider itself reads."""
    found = config.get("gcpProject") or pulumi.Config("gcp").get("project")
    found = found or next((environ[k] for k in GCP_PROJECT_ENV if environ.get(k)), None)
    if not found:
        raise ConfigMistake(
            "the gcp stack needs a GCP project: pulumi config set gcp:project <your-project-id>"
        )
    return found


AZURE_AUTH_KEYS = ("clientId", "tenantId", "subscriptionId", "useMsi", "useOidc", "environment")


def _azure_auth() -> AzureAuth:
    native = pulumi.Config("azure-native")
    settings = {key: value for key in AZURE_AUTH_KEYS if (value := native.get(key))}
    return AzureAuth(settings, native.get_secret("clientSecret"))
