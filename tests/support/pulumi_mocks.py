"""Pulumi mocks that answer like the providers do, and record every resource registered.

A mock that returns no output for a property leaves it unknown, and inputs that depend on it are
then silently dropped; so each type token gets the realistic outputs its provider returns, and
the program runs with preview=False.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi

ACCOUNT = "123456789012"
SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"


SECRET_SIG = ("4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270")


@dataclass
class Registered:
    typ: str
    name: str
    inputs: dict[str, Any]
    urn: str
    secret_inputs: frozenset[str] = frozenset()


def unwrap_secrets(value: Any, path: str, found: set[str]) -> Any:
    """Inputs that carry a secret arrive wrapped in the engine's secret marker: unwrap them and
    note where they were, so tests can assert that secrets stay secret."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG[0]) == SECRET_SIG[1]:
            found.add(path)
            return unwrap_secrets(value["value"], path, found)
        return {k: unwrap_secrets(v, f"{path}.{k}".lstrip("."), found) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v, f"{path}[{i}]", found) for i, v in enumerate(value)]
    return value


def _aws(args: pulumi.runtime.MockResourceArgs, rid: str) -> dict[str, Any]:
    region = "eu-west-1"
    outputs: dict[str, dict[str, Any]] = {
        "aws:s3/bucket:Bucket": {"bucket": rid, "arn": f"arn:aws:s3:::{rid}"},
        "aws:cloudwatch/logGroup:LogGroup": {
            "arn": f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{args.inputs.get('name')}"
        },
        "aws:iam/role:Role": {"arn": f"arn:aws:iam::{ACCOUNT}:role/{rid}", "name": rid},
        "aws:lambda/function:Function": {
            "arn": f"arn:aws:lambda:{region}:{ACCOUNT}:function:{args.inputs.get('name')}"
        },
        "aws:cloudwatch/eventRule:EventRule": {
            "arn": f"arn:aws:events:{region}:{ACCOUNT}:rule/{rid}",
            "name": rid,
        },
        "aws:lambda/functionUrl:FunctionUrl": {
            "functionUrl": "https://x7kq2m4lzp3vbn6hd5tc2rg7yu0ijwfe.lambda-url.eu-west-1.on.aws/",
            "urlId": "x7kq2m4lzp3vbn6hd5tc2rg7yu0ijwfe",
        },
    }
    return outputs.get(args.typ, {})


def _gcp(args: pulumi.runtime.MockResourceArgs, rid: str) -> dict[str, Any]:
    if args.typ == "gcp:storage/bucket:Bucket":
        return {"name": rid, "url": f"gs://{rid}"}
    if args.typ == "gcp:serviceaccount/account:Account":
        email = f"{args.inputs['accountId']}@my-gcp-project.iam.gserviceaccount.com"
        return {"email": email, "member": f"serviceAccount:{email}"}
    if args.typ == "gcp:cloudfunctionsv2/function:Function":
        name = args.inputs["name"]
        service = {
            **args.inputs["serviceConfig"],
            "service": f"projects/my-gcp-project/locations/europe-west1/services/{name}",
            "uri": f"https://{name}-abc123-ew.a.run.app",
        }
        return {
            "serviceConfig": service,
            "url": f"https://{name}-abc123-ew.a.run.app",
            "state": "ACTIVE",
        }
    return {}


def _azure(args: pulumi.runtime.MockResourceArgs, rid: str) -> dict[str, Any]:
    if args.typ == "azure-native:storage:StorageAccount":
        return {
            "name": args.name,
            "primaryEndpoints": {"blob": f"https://{args.name}.blob.core.windows.net/"},
        }
    if args.typ == "azure-native:web:WebApp":
        host = f"{args.name}-h3c8d9.westeurope-01.azurewebsites.net"
        return {
            "defaultHostName": host,
            "enabledHostNames": [host, host.replace(".westeurope", ".scm.westeurope")],
            "identity": {
                **args.inputs.get("identity", {}),
                "principalId": "11111111-2222-3333-4444-555555555555",
            },
        }
    if args.typ in ("azure-native:storage:BlobContainer", "azure-native:resources:ResourceGroup"):
        return {"name": args.name}
    return {}


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, peer_urls: dict[str, str | None]) -> None:
        self.peer_urls = peer_urls
        self.resources: list[Registered] = []
        self.stack_references: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        rid = f"{args.name}-{abs(hash(args.name)) % 10**6:06d}"
        if args.typ == "pulumi:pulumi:StackReference":
            self.stack_references.append(args.inputs["name"])
            url = self.peer_urls[args.inputs["name"]]
            outputs = {} if url is None else {"base_url": url}
            return rid, {"name": args.inputs["name"], "outputs": outputs, "secretOutputNames": []}
        secret: set[str] = set()
        args.inputs = unwrap_secrets(dict(args.inputs), "", secret)
        extra = {**_aws(args, rid), **_gcp(args, rid), **_azure(args, rid)}
        if args.typ.startswith("azure-native:"):
            rid = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/x/{args.name}"
            extra.setdefault("id", rid)
        outputs = {**args.inputs, **extra}
        urn = f"urn:pulumi:test::lambda::{args.typ}::{args.name}"
        self.resources.append(Registered(args.typ, args.name, outputs, urn, frozenset(secret)))
        return rid, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "subscriptionId": SUBSCRIPTION,
                "tenantId": "tenant",
                "clientId": "c",
                "objectId": "o",
            }
        if args.token == "azure-native:storage:listStorageAccountKeys":
            return {"keys": [{"keyName": "key1", "value": "a2V5", "permissions": "FULL"}]}
        if args.token == "azure-native:storage:listStorageAccountServiceSAS":
            return {"serviceSasToken": "sv=2024-01-01&sr=c&sp=r&sig=abc"}
        return {}

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources if r.typ == typ]

    def named(self, typ: str, name: str) -> Registered:
        found = [r for r in self.of_type(typ) if r.name == name]
        assert len(found) == 1, f"expected {typ} named {name}, got {[r.urn for r in found]}"
        return found[0]

    def one(self, typ: str) -> Registered:
        found = self.of_type(typ)
        assert len(found) == 1, f"expected one {typ}, got {[r.urn for r in found]}"
        return found[0]


def run_program(
    stack: str,
    config: dict[str, Any],
    peer_urls: dict[str, str | None],
    secrets: dict[str, str] | None = None,
) -> tuple[RecordingMocks, dict[str, Any]]:
    """Run the real program (stacks.program.main) under mocks; return what it registered and
    its component's resolved outputs."""
    from stacks.program import main

    mocks = RecordingMocks(peer_urls)
    pulumi.runtime.set_mocks(
        mocks, project="lambda", stack=stack, preview=False, organization="organization"
    )
    values = {f"lambda:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    secrets = {"peerSecret": "mesh-peer-secret", **(secrets or {})}
    values.update(
        {f"lambda:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in secrets.items()}
    )
    pulumi.runtime.set_all_config(values, [f"lambda:{k}" for k in secrets])
    result: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        component = main()
        return component.base_url.apply(  # type: ignore[attr-defined, no-any-return]
            lambda url: result.update(base_url=url)
        )

    program()
    return mocks, result
