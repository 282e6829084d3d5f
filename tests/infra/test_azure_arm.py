"""The program's own Azure calls (stacks/azure/arm.py) against a real HTTP server on 127.0.0.1
that answers as Kudu's One Deploy and ARM's provider registration do.

Kudu's contract, as Azure's own tools read it (azure-dev issue 3658, Core Tools' Flex publish):
`POST /api/publish` answers 202 with the deployment id as its body while the deploy goes on;
`GET /api/deployments/<id>` answers 404 until the record exists, then JSON whose `status` is
-1 cancelled, 0 pending, 1 building, 2 deploying, 3 failed, 4 success, 5 conflict, 6 partial.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from azure import identity

from stacks.azure import arm as azure_arm


class Script:
    """What the fake server answers, in order, per (method, path prefix)."""

    def __init__(self) -> None:
        self.replies: dict[tuple[str, str], list[tuple[int, Any]]] = {}
        self.requests: list[tuple[str, str, bytes, str]] = []

    def on(self, method: str, prefix: str, *replies: tuple[int, Any]) -> None:
        self.replies[(method, prefix)] = list(replies)

    def answer(self, method: str, path: str) -> tuple[int, Any]:
        for (m, prefix), queue in self.replies.items():
            if m == method and path.startswith(prefix):
                return queue.pop(0) if len(queue) > 1 else queue[0]
        return 404, {"error": "not scripted"}


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            auth = self.headers.get("Authorization", "")
            script.requests.append((self.command, self.path, body, auth))
            status, payload = script.answer(self.command, self.path)
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _reply

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    finally:
        httpd.shutdown()
        httpd.server_close()


def client(waits: list[float]) -> azure_arm.Http:
    return azure_arm.Http(token=lambda: "arm-token", sleep=waits.append, timeout_s=5)


def test_publish_retries_while_the_role_propagates_then_waits_for_success(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.on(
        "POST",
        "/api/publish",
        (403, b"This request is not authorized"),
        (400, b"storage error"),
        (202, b'"dep-1"'),
    )
    script.on(
        "GET",
        "/api/deployments/dep-1",
        (404, {}),
        (200, {"status": 1}),
        (200, {"status": 2}),
        (200, {"status": 4}),
    )
    waits: list[float] = []
    deployment = azure_arm.publish(
        client(waits),
        url,
        b"PK zip bytes",
        azure_arm.Backoff(5, 1.0, 4.0),
        azure_arm.Backoff(10, 0.5, 1.0),
    )
    assert deployment == "dep-1"
    posts = [r for r in script.requests if r[0] == "POST"]
    assert len(posts) == 3
    assert posts[-1][2] == b"PK zip bytes"
    assert posts[-1][3] == "Bearer arm-token"
    assert posts[-1][1] == "/api/publish?RemoteBuild=false"
    assert waits == [1.0, 2.0, 0.5, 1.0, 1.0]  # two publish retries, three polls until final


def test_a_deployment_that_fails_after_a_2xx_publish_fails_the_update(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.on("POST", "/api/publish", (202, b"dep-2"))
    script.on(
        "GET",
        "/api/deployments/dep-2",
        (200, {"status": 1}),
        (
            200,
            {
                "status": 3,
                "status_text": "Python packages failed to load",
                "log_url": "https://x.scm/api/deployments/dep-2/log",
            },
        ),
    )
    with pytest.raises(azure_arm.ArmError, match="ended Failed: Python packages failed to load"):
        azure_arm.publish(
            client([]), url, b"zip", azure_arm.Backoff(2, 0.1, 0.1), azure_arm.Backoff(5, 0.1, 0.1)
        )


def test_publish_gives_up_after_its_bound_and_says_why(server: tuple[str, Script]) -> None:
    url, script = server
    script.on("POST", "/api/publish", (403, b"AuthorizationPermissionMismatch"))
    waits: list[float] = []
    with pytest.raises(azure_arm.ArmError, match="403 AuthorizationPermissionMismatch"):
        azure_arm.publish(client(waits), url, b"zip", azure_arm.Backoff(4, 1.0, 2.0))
    assert waits == [1.0, 2.0, 2.0]
    assert len([r for r in script.requests if r[0] == "POST"]) == 4


def test_a_deployment_that_never_completes_fails_at_the_poll_bound(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.on("POST", "/api/publish", (202, b"dep-3"))
    script.on("GET", "/api/deployments/dep-3", (200, {"status": 1}))
    with pytest.raises(azure_arm.ArmError, match=r"did not complete \(last: Building\)"):
        azure_arm.publish(
            client([]), url, b"zip", azure_arm.Backoff(1, 0, 0), azure_arm.Backoff(3, 0, 0)
        )


def test_an_unexpected_publish_error_is_not_retried(server: tuple[str, Script]) -> None:
    url, script = server
    script.on("POST", "/api/publish", (413, b"too large"))
    with pytest.raises(azure_arm.ArmError, match="413"):
        azure_arm.publish(client([]), url, b"zip", azure_arm.Backoff(5, 1, 1))
    assert len(script.requests) == 1


def test_provider_registration_registers_and_waits_until_registered(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.on("POST", "/subscriptions/sub/providers/", (200, {}))
    script.on(
        "GET",
        "/subscriptions/sub/providers/Microsoft.App",
        (200, {"registrationState": "Registering"}),
        (200, {"registrationState": "Registered"}),
    )
    script.on(
        "GET",
        "/subscriptions/sub/providers/Microsoft.Web",
        (200, {"registrationState": "Registered"}),
    )
    waits: list[float] = []
    azure_arm.register_providers(
        client(waits),
        "sub",
        ["Microsoft.Web", "Microsoft.App"],
        azure_arm.Backoff(5, 2.0, 2.0),
        arm=url,
    )
    posts = [r[1] for r in script.requests if r[0] == "POST"]
    assert posts == [
        "/subscriptions/sub/providers/Microsoft.Web/register?api-version=2021-04-01",
        "/subscriptions/sub/providers/Microsoft.App/register?api-version=2021-04-01",
    ]
    assert waits == [2.0]


def test_a_registration_without_permission_says_what_to_run(server: tuple[str, Script]) -> None:
    url, script = server
    script.on("POST", "/subscriptions/sub/providers/", (403, {"error": "AuthorizationFailed"}))
    with pytest.raises(
        azure_arm.ArmError, match=r"az provider register --namespace Microsoft\.App"
    ):
        azure_arm.register_providers(client([]), "sub", ["Microsoft.App"], arm=url)


def test_trigger_sync_posts_to_the_apps_management_endpoint(server: tuple[str, Script]) -> None:
    url, script = server
    app_id = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/app"
    script.on("POST", app_id, (200, {}))
    azure_arm.sync_triggers(client([]), app_id, arm=url)
    assert script.requests[0][1] == f"{app_id}/syncfunctiontriggers?api-version=2022-03-01"


def test_credentials_follow_the_azure_native_providers_own_settings() -> None:
    env = {"ARM_CLIENT_ID": "env-id", "ARM_TENANT_ID": "env-tenant", "ARM_CLIENT_SECRET": "env-s"}
    from_env = azure_arm.auth_settings({}, env)
    assert isinstance(azure_arm.credential(from_env), identity.ClientSecretCredential)
    # The provider's config wins over its environment variables.
    merged = azure_arm.auth_settings({"clientId": "cfg-id", "clientSecret": "cfg-s"}, env)
    assert (merged["clientId"], merged["clientSecret"], merged["tenantId"]) == (
        "cfg-id",
        "cfg-s",
        "env-tenant",
    )
    msi = azure_arm.auth_settings({}, {"ARM_USE_MSI": "true", "ARM_CLIENT_ID": "uami"})
    assert isinstance(azure_arm.credential(msi), identity.ManagedIdentityCredential)
    oidc = azure_arm.auth_settings(
        {}, {**env, "ARM_CLIENT_SECRET": "", "ARM_USE_OIDC": "true", "ARM_OIDC_TOKEN": "jwt"}
    )
    assert isinstance(azure_arm.credential(oidc), identity.ClientAssertionCredential)
    # Neither names a credential: the Azure CLI login, as azure-native does by default.
    assert isinstance(
        azure_arm.credential(azure_arm.auth_settings({}, {})), identity.AzureCliCredential
    )


# The environment variables azure-native itself reads for each provider setting (its provider
# configuration docs: "ARM_CLIENT_ID", ... and GitHub Actions' OIDC request variables).
ARM_VARIABLES = {
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


def test_every_arm_variable_azure_native_reads_reaches_its_setting() -> None:
    env = {var: f"value of {var}" for var in ARM_VARIABLES.values()}
    assert azure_arm.auth_settings({}, env) == {
        key: f"value of {var}" for key, var in ARM_VARIABLES.items()
    }


def test_github_actions_oidc_variables_fill_in_only_what_the_arm_ones_leave_unset() -> None:
    actions = {
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "gh-token",
        "ACTIONS_ID_TOKEN_REQUEST_URL": "gh-url",
    }
    assert azure_arm.auth_settings({}, actions) == {
        "oidcRequestToken": "gh-token",
        "oidcRequestUrl": "gh-url",
    }
    both = {**actions, "ARM_OIDC_REQUEST_TOKEN": "arm-token", "ARM_OIDC_REQUEST_URL": "arm-url"}
    assert azure_arm.auth_settings({}, both) == {
        "oidcRequestToken": "arm-token",
        "oidcRequestUrl": "arm-url",
    }


def test_blank_variables_and_blank_config_values_count_as_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {"ARM_CLIENT_ID": "", "ARM_TENANT_ID": "t", "ACTIONS_ID_TOKEN_REQUEST_URL": ""}
    assert azure_arm.auth_settings({"clientId": "", "tenantId": ""}, env) == {"tenantId": "t"}
    # with no mapping given, the process environment is read
    monkeypatch.setenv("ARM_SUBSCRIPTION_ID", "from-process")
    assert azure_arm.auth_settings({})["subscriptionId"] == "from-process"


@pytest.mark.parametrize(
    ("value", "managed"),
    [
        ("1", True),
        ("true", True),
        ("TRUE", True),
        ("yes", True),
        ("Yes", True),
        ("0", False),
        ("false", False),
        ("no", False),
        ("", False),
    ],
)
def test_use_msi_is_on_for_the_truthy_words_azure_native_takes(value: str, managed: bool) -> None:
    settings = azure_arm.auth_settings({}, {"ARM_USE_MSI": value})
    expected = identity.ManagedIdentityCredential if managed else identity.AzureCliCredential
    assert isinstance(azure_arm.credential(settings), expected)


@pytest.mark.parametrize(
    ("provider", "keys", "ignored"),
    [
        ("_OneDeploy", ("scm_host", "archive_sha256"), "deployment_id"),
        ("_Registration", ("subscription", "namespaces"), "auth"),
        ("_TriggerSync", ("app_id", "package"), "auth"),
    ],
)
def test_each_dynamic_resource_changes_when_and_only_when_what_it_acts_on_changes(
    provider: str, keys: tuple[str, ...], ignored: str
) -> None:
    from stacks.azure import flex_deploy

    resource = getattr(flex_deploy, provider)()
    olds = {key: f"old-{key}" for key in keys} | {ignored: "a"}
    same = resource.diff("id", olds, {**olds, ignored: "b"})
    assert (same.changes, same.replaces, same.delete_before_replace) == (False, [], False)
    for key in keys:
        changed = resource.diff("id", olds, {**olds, key: "new"})
        assert (changed.changes, changed.replaces) == (True, []), key


def test_the_default_schedules_are_bounded_as_documented() -> None:
    # Publish: 12 tries, 5 s doubling to 60 s; deployment polling: 60 polls, 5 s then 10 s;
    # provider registration: 40 polls, 5 s doubling to 15 s.
    assert azure_arm.Backoff().delays() == [5.0, 10.0, 20.0, 40.0] + [60.0] * 7
    assert azure_arm.Backoff(60, 5.0, 10.0).delays() == [5.0] + [10.0] * 58


def test_publish_polls_on_the_default_schedule_when_given_none(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.on("POST", "/api/publish", (202, b'"dep-1"'))
    script.on("GET", "/api/deployments/dep-1", (200, {"status": 1}), (200, {"status": 4}))
    waits: list[float] = []
    assert azure_arm.publish(client(waits), url, b"zip") == "dep-1"
    assert waits == [5.0]  # the first of the default polls


def test_registration_polls_on_its_default_schedule_when_given_none(
    server: tuple[str, Script],
) -> None:
    url, script = server
    base = "/subscriptions/sub/providers/Microsoft.Web"
    script.on("POST", f"{base}/register", (200, {}))
    script.on(
        "GET",
        base,
        (200, {"registrationState": "Registering"}),
        (200, {"registrationState": "Registering"}),
        (200, {"registrationState": "Registered"}),
    )
    waits: list[float] = []
    azure_arm.register_providers(client(waits), "sub", ["Microsoft.Web"], arm=url)
    assert waits == [5.0, 10.0]


def test_a_failed_publish_quotes_the_first_300_bytes_of_the_answer(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.on("POST", "/api/publish", (422, b"x" * 299 + b"yz" + b"!" * 50))
    with pytest.raises(azure_arm.ArmError) as caught:
        azure_arm.publish(client([]), url, b"zip")
    assert str(caught.value) == f"One Deploy to {url} failed: 422 " + "x" * 299 + "y"


def test_a_failed_deployment_says_why_from_its_status_text_or_message(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.on("POST", "/api/publish", (202, b'"d"'), (202, b'"d"'))
    script.on(
        "GET",
        "/api/deployments/d",
        (200, {"status": 3, "message": "python build failed", "log_url": "L"}),
        (200, {"status": 3, "status_text": "out of disk", "message": "m"}),
    )
    for detail, log in (("python build failed", "L"), ("out of disk", "n/a")):
        with pytest.raises(azure_arm.ArmError) as caught:
            azure_arm.publish(client([]), url, b"zip")
        assert str(caught.value).endswith(f": {detail} (log: {log})")


def test_a_github_oidc_token_is_fetched_for_azure_ad_with_the_request_token(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.on("GET", "/token", (200, {"value": "gh-jwt"}))
    settings = {"oidcRequestUrl": f"{url}/token?api-version=2.0", "oidcRequestToken": "req"}
    assert azure_arm._oidc_token(settings) == "gh-jwt"
    method, path, _, auth = script.requests[0]
    assert (method, path, auth) == (
        "GET",
        "/token?api-version=2.0&audience=api://AzureADTokenExchange",
        "Bearer req",
    )
    assert azure_arm._oidc_token({**settings, "oidcToken": "given"}) == "given"
    with pytest.raises(azure_arm.ArmError, match="neither ARM_OIDC_TOKEN nor a request URL"):
        azure_arm._oidc_token({"oidcRequestUrl": f"{url}/token?x=1"})
