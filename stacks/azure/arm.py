"""The few Azure calls azure-native has no resource for, made during `pulumi up` by the dynamic
resources in stacks/azure/flex_deploy.py: One Deploy with status polling, resource provider
registration, and a trigger sync.

They authenticate exactly as the azure-native provider does: its config keys
(`azure-native:clientId`, `clientSecret`, `tenantId`, `useMsi`, `useOidc`) first, then its
`ARM_*` environment variables, and the Azure CLI's login when neither names a credential (the
provider's own default), so a deploy never uses a second, different identity. See
docs/deploying.md (Azure).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stacks.config import process_environment

ARM = "https://management.azure.com"
ARM_SCOPE = "https://management.azure.com/.default"

# Kudu's deployment status codes (the One Deploy contract, as azd and Core Tools read them).
STATUS = {
    -1: "Cancelled",
    0: "Pending",
    1: "Building",
    2: "Deploying",
    3: "Failed",
    4: "Success",
    5: "Conflict",
    6: "PartialSuccess",
}
SUCCEEDED = {4, 6}
FAILED = {-1, 3, 5}


class ArmError(RuntimeError):
    """An Azure call failed for good; the message says which and why."""


def auth_settings(
    config: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The provider's config over its ARM_* variables (config wins, as in azure-native)."""
    environ = process_environment() if environ is None else environ
    env_keys = {
        "clientId": "ARM_CLIENT_ID",
        "clientSecret": "ARM_CLIENT_SECRET",
        "tenantId": "ARM_TENANT_ID",
        "subscriptionId": "ARM_SUBSCRIPTION_ID",
        "useMsi": "ARM_USE_MSI",
        "useOidc": "ARM_USE_OIDC",
        "oidcToken": "ARM_OIDC_TOKEN",
        "oidcRequestToken": "ARM_OIDC_REQUEST_TOKEN",
        "oidcRequestUrl": "ARM_OIDC_REQUEST_URL",
        "clientCertificatePath": "ARM_CLIENT_CERTIFICATE_PATH",
        "clientCertificatePassword": "ARM_CLIENT_CERTIFICATE_PASSWORD",
    }
    merged = {key: environ[var] for key, var in env_keys.items() if environ.get(var)}
    # GitHub Actions hands out its OIDC request URL/token under its own names.
    for key, var in (
        ("oidcRequestToken", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
        ("oidcRequestUrl", "ACTIONS_ID_TOKEN_REQUEST_URL"),
    ):
        if environ.get(var):
            merged.setdefault(key, environ[var])
    merged.update({k: v for k, v in config.items() if v})
    return merged


def _true(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


def credential(settings: Mapping[str, str]) -> Any:
    """An azure-identity credential for these settings, in azure-native's order."""
    from azure import identity

    client, tenant = settings.get("clientId"), settings.get("tenantId")
    if client and tenant and settings.get("clientSecret"):
        return identity.ClientSecretCredential(tenant, client, settings["clientSecret"])
    if client and tenant and settings.get("clientCertificatePath"):
        return identity.CertificateCredential(
            tenant,
            client,
            settings["clientCertificatePath"],
            password=settings.get("clientCertificatePassword"),
        )
    if _true(settings.get("useOidc")) and client and tenant:
        return identity.ClientAssertionCredential(tenant, client, lambda: _oidc_token(settings))
    if _true(settings.get("useMsi")):
        return identity.ManagedIdentityCredential(client_id=client)
    return identity.AzureCliCredential(tenant_id=tenant or "")


def _oidc_token(settings: Mapping[str, str]) -> str:
    if settings.get("oidcToken"):
        return settings["oidcToken"]
    url, token = settings.get("oidcRequestUrl"), settings.get("oidcRequestToken")
    if not (url and token):
        raise ArmError("useOidc is set but neither ARM_OIDC_TOKEN nor a request URL is")
    request = urllib.request.Request(
        f"{url}&audience=api://AzureADTokenExchange",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.load(response)["value"])


@dataclass
class Http:
    """A small JSON-over-HTTPS client with a bearer token; `sleep` is injectable for tests."""

    token: Callable[[], str]
    sleep: Callable[[float], None] = time.sleep
    timeout_s: float = 600

    def call(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        content_type: str = "application/json",
    ) -> tuple[int, bytes]:
        request = urllib.request.Request(
            url,
            data=body,
            method=method,
            headers={"Authorization": f"Bearer {self.token()}", "Content-Type": content_type},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


def token_source(settings: Mapping[str, str]) -> Callable[[], str]:
    cred = credential(settings)
    return lambda: str(cred.get_token(ARM_SCOPE).token)


@dataclass
class Backoff:
    """Bounded retries: `attempts` tries, waiting `first`, doubling, at most `cap` seconds."""

    attempts: int = 12
    first: float = 5.0
    cap: float = 60.0

    def delays(self) -> list[float]:
        return [min(self.first * 2**n, self.cap) for n in range(self.attempts - 1)]


# A new identity's role assignment takes minutes to reach the storage data plane: until then
# the publish that writes to the deployment container answers 403 (or 400 with the storage
# error inside). Retried, within a bound; anything else fails at once.
TRANSIENT_PUBLISH = {400, 401, 403, 404, 409, 429, 500, 502, 503}


def publish(
    http: Http,
    scm: str,
    archive: bytes,
    backoff: Backoff | None = None,
    poll: Backoff | None = None,
) -> str:
    """One Deploy the package and wait until the deployment completes; returns its id.

    `/api/publish` answers 202 with the deployment id as soon as it has the zip; the deploy
    itself runs afterwards and can still fail, so the status is polled until it is final.
    """
    backoff = backoff or Backoff()
    last = ""
    for delay in [*backoff.delays(), None]:
        status, body = http.call(
            "POST", f"{scm}/api/publish?RemoteBuild=false", archive, "application/zip"
        )
        if 200 <= status < 300:
            deployment = body.decode().strip().strip('"') or "latest"
            wait_for_deployment(http, scm, deployment, poll or Backoff(60, 5.0, 10.0))
            return deployment
        last = f"{status} {body[:300].decode(errors='replace')}"
        if status not in TRANSIENT_PUBLISH or delay is None:
            break
        http.sleep(delay)
    raise ArmError(f"One Deploy to {scm} failed: {last}")


def wait_for_deployment(http: Http, scm: str, deployment: str, poll: Backoff) -> None:
    seen = "no answer"
    for delay in [*poll.delays(), None]:
        status, body = http.call("GET", f"{scm}/api/deployments/{deployment}")
        if status == 200:
            info = json.loads(body)
            code = int(info.get("status", 0))
            seen = STATUS.get(code, str(code))
            if code in SUCCEEDED:
                return
            if code in FAILED:
                detail = info.get("status_text") or info.get("message") or ""
                raise ArmError(
                    f"deployment {deployment} on {scm} ended {seen}: {detail} "
                    f"(log: {info.get('log_url', 'n/a')})"
                )
        # 404 right after the publish: the record is not written yet; keep polling.
        if delay is None:
            break
        http.sleep(delay)
    raise ArmError(f"deployment {deployment} on {scm} did not complete (last: {seen})")


def register_providers(
    http: Http,
    subscription: str,
    namespaces: list[str],
    poll: Backoff | None = None,
    arm: str = ARM,
) -> None:
    """Register resource providers the app needs (idempotent), and wait until they are."""
    poll = poll or Backoff(40, 5.0, 15.0)
    base = f"{arm}/subscriptions/{subscription}/providers"
    for namespace in namespaces:
        status, body = http.call("POST", f"{base}/{namespace}/register?api-version=2021-04-01")
        if status >= 300:
            raise ArmError(
                f"registering {namespace} answered {status} {body[:200]!r}; register it once "
                f"with: az provider register --namespace {namespace}"
            )
    for namespace in namespaces:
        for delay in [*poll.delays(), None]:
            _, body = http.call("GET", f"{base}/{namespace}?api-version=2021-04-01")
            if json.loads(body or b"{}").get("registrationState") == "Registered":
                break
            if delay is None:
                raise ArmError(f"{namespace} is still not registered in {subscription}")
            http.sleep(delay)


def sync_triggers(http: Http, app_id: str, arm: str = ARM) -> None:
    """After a package change on Linux Consumption the scale controller must re-read the
    triggers; without it, it keeps the old ones until the app restarts on its own."""
    status, body = http.call("POST", f"{arm}{app_id}/syncfunctiontriggers?api-version=2022-03-01")
    if status >= 300:
        raise ArmError(f"syncing triggers of {app_id} answered {status} {body[:200]!r}")
