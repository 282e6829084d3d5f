"""Pulumi mocks that answer like the providers do, and record every resource registered.

A mock that returns no output for a property leaves it unknown, and inputs that depend on it are
then silently dropped; so each type token gets the outputs its provider really computes, with
the source named beside it. The engine's state for a resource is its inputs plus what the
provider computes, so inputs are returned too, but never in place of a computed value (an
auto-named Azure resource's `name` is not its logical name; a GCP function's `url` is not its
Cloud Run URI).

`run_program` gives the program exactly the config the Pulumi CLI would: the committed stack
file, plus the user's `pulumi config set`s, merged with Pulumi.yaml's defaults and validated by
the CLI's own rules (tests/support/pulumi_cli.py), so no mock test runs on a config the CLI
would have refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from tests.support import pulumi_cli

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
GCP_PROJECT = "my-gcp-project"
GCP_PROJECT_NUMBER = "482913077652"
ORG = "organization"

UAI_PRINCIPAL = "77777777-6666-5555-4444-333333333333"
UAI_CLIENT = "88888888-7777-6666-5555-444444444444"

SECRET_SIG = ("4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270")


@dataclass
class Registered:
    typ: str
    name: str
    inputs: dict[str, Any]
    urn: str
    secret_inputs: frozenset[str] = frozenset()
    outputs: dict[str, Any] = field(default_factory=dict)
    protect: bool = False
    depends_on: tuple[str, ...] = ()  # "type::name" of the explicit dependencies
    aliases: tuple[str, ...] = ()  # the names it was once registered under (`aliases`)


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


def _suffix(name: str, length: int = 7) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:length]


def _aws(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    """pulumi-aws (terraform-provider-aws) computed attributes."""
    region = "eu-west-1"
    inputs = args.inputs
    if args.typ == "aws:s3/bucket:Bucket":
        # Auto-named: the logical name plus a 7-character random suffix.
        bucket = f"{args.name}-{_suffix(args.name)}"
        return {
            "id": bucket,  # an S3 bucket's id is its name
            "bucket": bucket,
            "arn": f"arn:aws:s3:::{bucket}",
            "bucketDomainName": f"{bucket}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com",
            "region": region,
        }
    if args.typ == "aws:s3/bucketObjectv2:BucketObjectv2":
        return {"etag": _suffix(str(inputs.get("key")), 32), "versionId": ""}
    if args.typ == "aws:cloudwatch/logGroup:LogGroup":
        return {"arn": f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{inputs.get('name')}"}
    if args.typ == "aws:iam/role:Role":
        name = f"{args.name}-{_suffix(args.name)}"
        return {
            "id": name,
            "arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
            "name": name,
            "uniqueId": "AROA" + _suffix(args.name, 17).upper(),
        }
    if args.typ == "aws:lambda/function:Function":
        arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{inputs.get('name')}"
        return {
            "arn": arn,
            "qualifiedArn": f"{arn}:$LATEST",
            "version": "$LATEST",
            "invokeArn": f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}"
            "/invocations",
        }
    if args.typ == "aws:secretsmanager/secret:Secret":
        name = f"{args.name}-{_suffix(args.name)}"
        # Secrets Manager appends a 6-character suffix to every secret's ARN.
        arn = f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{name}-AbCdEf"
        return {"id": arn, "arn": arn, "name": name}
    if args.typ == "aws:secretsmanager/secretVersion:SecretVersion":
        return {"versionId": "f6b6c1f2-1111-2222-3333-444455556666", "arn": inputs["secretId"]}
    if args.typ == "aws:glue/catalogDatabase:CatalogDatabase":
        return {"arn": f"arn:aws:glue:{region}:{ACCOUNT}:database/{inputs['name']}"}
    if args.typ == "aws:glue/catalogTable:CatalogTable":
        return {
            "arn": f"arn:aws:glue:{region}:{ACCOUNT}:table/{inputs['databaseName']}/"
            f"{inputs['name']}"
        }
    if args.typ == "aws:athena/workgroup:Workgroup":
        return {"arn": f"arn:aws:athena:{region}:{ACCOUNT}:workgroup/{inputs['name']}"}
    if args.typ == "aws:cloudwatch/eventRule:EventRule":
        name = f"{args.name}-{_suffix(args.name)}"
        return {"arn": f"arn:aws:events:{region}:{ACCOUNT}:rule/{name}", "name": name}
    if args.typ == "aws:lambda/functionUrl:FunctionUrl":
        # A Function URL ends with a slash.
        return {
            "functionUrl": "https://x7kq2m4lzp3vbn6hd5tc2rg7yu0ijwfe.lambda-url.eu-west-1.on.aws/",
            "urlId": "x7kq2m4lzp3vbn6hd5tc2rg7yu0ijwfe",
        }
    return {}


def _gcp(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    """pulumi-gcp (terraform-provider-google) computed attributes."""
    inputs = args.inputs
    if args.typ == "gcp:storage/bucket:Bucket":
        name = f"{args.name}-{_suffix(args.name)}"
        return {
            "name": name,
            "url": f"gs://{name}",
            "selfLink": f"https://www.googleapis.com/storage/v1/b/{name}",
        }
    if args.typ == "gcp:serviceaccount/account:Account":
        email = f"{inputs['accountId']}@{GCP_PROJECT}.iam.gserviceaccount.com"
        return {
            "email": email,
            "member": f"serviceAccount:{email}",
            # `name` is the account's resource name, which build_config.service_account takes.
            "name": f"projects/{GCP_PROJECT}/serviceAccounts/{email}",
            "uniqueId": "1" + _suffix(email, 20),
        }
    if args.typ == "gcp:projects/service:Service":
        return {"id": f"{GCP_PROJECT}/{inputs['service']}"}
    if args.typ == "gcp:cloudfunctionsv2/function:Function":
        name = inputs["name"]
        # google_cloudfunctions2_function: `url` is the cloudfunctions.net form with the
        # function's name as its path; the Cloud Run service's own URI is service_config.uri.
        return {
            "serviceConfig": {
                **inputs["serviceConfig"],
                "service": f"projects/{GCP_PROJECT}/locations/europe-west1/services/{name}",
                "uri": f"https://{name}-{_suffix(name, 10)}-ew.a.run.app",
                "revision": f"{name}-00001-abc",
            },
            "url": f"https://europe-west1-{GCP_PROJECT}.cloudfunctions.net/{name}",
            "state": "ACTIVE",
            "environment": "GEN_2",
        }
    if args.typ == "gcp:secretmanager/secret:Secret":
        name = f"projects/{GCP_PROJECT_NUMBER}/secrets/{inputs['secretId']}"
        return {"id": f"projects/{GCP_PROJECT}/secrets/{inputs['secretId']}", "name": name}
    if args.typ == "gcp:secretmanager/secretVersion:SecretVersion":
        # google_secret_manager_secret_version: `version` is the number, as a string.
        return {"version": "1", "name": f"{inputs['secret']}/versions/1", "enabled": True}
    if args.typ == "gcp:bigquery/dataset:Dataset":
        return {
            "id": f"projects/{GCP_PROJECT}/datasets/{inputs['datasetId']}",
            "selfLink": f"https://bigquery.googleapis.com/bigquery/v2/projects/{GCP_PROJECT}"
            f"/datasets/{inputs['datasetId']}",
        }
    if args.typ == "gcp:bigquery/table:Table":
        return {
            "id": f"projects/{GCP_PROJECT}/datasets/{inputs['datasetId']}/tables/"
            f"{inputs['tableId']}",
            "type": "EXTERNAL",
        }
    if args.typ == "gcp:cloudscheduler/job:Job":
        return {"state": "ENABLED"}
    return {}


def _azure(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    """pulumi-azure-native outputs: auto-named resources get a random 8-character suffix."""
    inputs = args.inputs
    auto = f"{args.name}{_suffix(args.name, 8)}"
    base = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/lambda-rg1a2b3c4d/providers"
    if args.typ == "azure-native:resources:ResourceGroup":
        return {
            "name": "lambda-rg1a2b3c4d",
            "id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/lambda-rg1a2b3c4d",
        }
    if args.typ == "azure-native:storage:StorageAccount":
        # Storage account names take no dashes and at most 24 characters.
        name = auto[:24]
        endpoints = {
            kind: f"https://{name}.{kind}.core.windows.net/"
            for kind in ("blob", "dfs", "file", "queue", "table", "web")
        }
        return {
            "name": name,
            "id": f"{base}/Microsoft.Storage/storageAccounts/{name}",
            "primaryEndpoints": endpoints,
            "provisioningState": "Succeeded",
        }
    if args.typ == "azure-native:storage:BlobContainer":
        return {
            "name": auto,
            "id": f"{base}/Microsoft.Storage/storageAccounts/sa/blobServices/"
            f"default/containers/{auto}",
        }
    if args.typ == "azure-native:web:AppServicePlan":
        return {"name": auto, "id": f"{base}/Microsoft.Web/serverfarms/{auto}"}
    if args.typ == "azure-native:web:WebApp":
        # Flex apps get a host name with a hash and a region scale unit; the SCM (Kudu) host is
        # among enabledHostNames and is the `Repository` entry of hostNameSslStates.
        host = f"{auto}-h3c8d9e2f4a1b5c6.westeurope-01.azurewebsites.net"
        scm = host.replace(".westeurope-01.", ".scm.westeurope-01.")
        return {
            "name": auto,
            "id": f"{base}/Microsoft.Web/sites/{auto}",
            "defaultHostName": host,
            "enabledHostNames": [host, scm],
            "hostNameSslStates": [
                {"name": host, "hostType": "Standard", "sslState": "Disabled"},
                {"name": scm, "hostType": "Repository", "sslState": "Disabled"},
            ],
            # ARM answers the user-assigned identities as a map by resource id, each with its
            # principal and client ids (Microsoft.Web sites: ManagedServiceIdentity).
            "identity": {
                **inputs.get("identity", {}),
                "principalId": "11111111-2222-3333-4444-555555555555",
                "tenantId": "99999999-8888-7777-6666-555555555555",
                "userAssignedIdentities": {
                    uid: {"principalId": UAI_PRINCIPAL, "clientId": UAI_CLIENT}
                    for uid in inputs.get("identity", {}).get("userAssignedIdentities", [])
                },
            },
            "state": "Running",
        }
    if args.typ == "azure-native:managedidentity:UserAssignedIdentity":
        # Microsoft.ManagedIdentity/userAssignedIdentities: its principal and client ids exist
        # as soon as the create returns, before anything uses it.
        return {
            "name": auto,
            "id": f"{base}/Microsoft.ManagedIdentity/userAssignedIdentities/{auto}",
            "principalId": UAI_PRINCIPAL,
            "clientId": UAI_CLIENT,
            "tenantId": "99999999-8888-7777-6666-555555555555",
        }
    if args.typ == "azure-native:keyvault:Vault":
        name = auto[:24]
        return {
            "name": name,
            "id": f"{base}/Microsoft.KeyVault/vaults/{name}",
            "properties": {**inputs["properties"], "vaultUri": f"https://{name}.vault.azure.net/"},
        }
    if args.typ == "azure-native:keyvault:Secret":
        vault, name = inputs["vaultName"], inputs["secretName"]
        uri = f"https://{vault}.vault.azure.net/secrets/{name}"
        return {
            "name": name,
            "id": f"{base}/Microsoft.KeyVault/vaults/{vault}/secrets/{name}",
            "properties": {
                **inputs["properties"],
                "secretUri": uri,
                "secretUriWithVersion": f"{uri}/0123456789abcdef",
            },
        }
    if args.typ == "azure-native:operationalinsights:Workspace":
        # customerId: the workspace GUID the Logs query API takes (make logs)
        return {
            "name": auto,
            "id": f"{base}/Microsoft.OperationalInsights/workspaces/{auto}",
            "customerId": "0b4e1a6c-2d3f-4a5b-8c9d-0e1f2a3b4c5d",
        }
    if args.typ == "azure-native:applicationinsights:Component":
        # the connection string's documented shape (learn.microsoft.com/azure/azure-monitor/app/
        # connection-strings): the key and the region's ingestion endpoint
        key = "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b"
        return {
            "name": auto,
            "id": f"{base}/Microsoft.Insights/components/{auto}",
            "instrumentationKey": key,
            "connectionString": f"InstrumentationKey={key};IngestionEndpoint="
            "https://westeurope-5.in.applicationinsights.azure.com/",
        }
    if args.typ.startswith("azure-native:"):
        return {"id": f"{base}/x/{auto}"}
    return {}


def _random(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    if args.typ == "random:index/randomPassword:RandomPassword":
        length = int(args.inputs.get("length", 16))
        return {"result": ("k" + _suffix(args.name, 64))[:length], "bcryptHash": "$2a$10$x"}
    return {}


def _time(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    """pulumiverse-time (the Terraform time provider): a Sleep's id is the instant its create
    finished (RFC 3339), its state its inputs."""
    if args.typ == "time:index/sleep:Sleep":
        return {"id": "2026-12-03T05:02:00Z"}
    return {}


PEER_KEY = "peer-signing-key-of-"


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, peer_urls: dict[str, str | None]) -> None:
        self.peer_urls = peer_urls
        self.resources: list[Registered] = []
        self.stack_references: list[str] = []
        self.calls: list[str] = []
        self._urns: dict[str, str] = {}
        self._options: dict[tuple[str, str], tuple[bool, tuple[str, ...]]] = {}
        self._aliases: dict[tuple[str, str], tuple[str, ...]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        rid = f"{args.name}-{_suffix(args.name, 6)}"
        if args.typ == "pulumi:pulumi:StackReference":
            return rid, self._stack_reference(args.inputs["name"])
        secret: set[str] = set()
        args.inputs = unwrap_secrets(dict(args.inputs), "", secret)
        computed = {**_aws(args), **_gcp(args), **_azure(args), **_random(args), **_time(args)}
        rid = str(computed.get("id", rid))
        outputs = {**args.inputs, **computed}
        urn = f"urn:pulumi:test::lambda::{args.typ}::{args.name}"
        self.resources.append(
            Registered(args.typ, args.name, args.inputs, urn, frozenset(secret), outputs)
        )
        return rid, outputs

    def watch(self, monitor: Any) -> None:
        """Record what MockResourceArgs leaves out: each registration's `protect` flag and its
        explicit dependencies (`depends_on`), as the engine receives them."""
        register = monitor.RegisterResource

        def recording(request: Any) -> Any:
            response = register(request)
            self._urns[response.urn] = f"{request.type}::{request.name}"
            self._options[(request.type, request.name)] = (
                bool(request.protect),
                tuple(request.dependencies),
            )
            # Alias specs as the engine receives them (pulumi/pulumi proto/pulumi/alias.proto).
            self._aliases[(request.type, request.name)] = tuple(
                alias.spec.name if alias.HasField("spec") else alias.urn
                for alias in request.aliases
            )
            return response

        monitor.RegisterResource = recording

    def settle(self) -> None:
        """Attach the recorded options to the resources, once the program has finished."""
        for resource in self.resources:
            protect, urns = self._options.get((resource.typ, resource.name), (False, ()))
            resource.protect = protect
            resource.depends_on = tuple(self._urns.get(u, u) for u in urns)
            resource.aliases = self._aliases.get((resource.typ, resource.name), ())

    def _stack_reference(self, name: str) -> dict[str, Any]:
        """A peer stack's outputs as the engine reads them: nothing for a stack never deployed,
        and `peer_signing_key` listed among the secret outputs."""
        self.stack_references.append(name)
        if name not in self.peer_urls:
            # The engine fails a reference to a stack that does not exist.
            raise RuntimeError(f"unknown stack {name!r}")
        url = self.peer_urls[name]
        if url is None:
            return {"name": name, "outputs": {}, "secretOutputNames": []}
        outputs = {"base_url": url, "peer_signing_key": PEER_KEY + name}
        return {"name": name, "outputs": outputs, "secretOutputNames": ["peer_signing_key"]}

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        self.calls.append(args.token)
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/deployer",
                "userId": "AIDAEXAMPLE",
                "id": ACCOUNT,
            }
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "subscriptionId": SUBSCRIPTION,
                "tenantId": "99999999-8888-7777-6666-555555555555",
                "clientId": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
                "objectId": "0a0b0c0d-0000-1111-2222-333333333333",
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


def cli_config(
    stack: str,
    sets: dict[str, str] | None = None,
    secrets: dict[str, str] | None = None,
) -> dict[str, pulumi_cli.Value]:
    """The config `pulumi up --stack STACK` hands the program after the user ran
    `pulumi config set` for each of `sets` (and `--secret` for `secrets`); raises CliError
    where the CLI would stop."""
    project = pulumi_cli.load_project(ROOT / "Pulumi.yaml")
    values = pulumi_cli.load_stack(project, ROOT / f"Pulumi.{stack}.yaml")
    for key, text in (sets or {}).items():
        pulumi_cli.config_set(values, project, key, text)
    for key, text in (secrets or {}).items():
        pulumi_cli.config_set(values, project, key, text, secret=True)
    return pulumi_cli.merge_and_validate(project, stack, values)


def run_program(
    stack: str,
    sets: dict[str, str] | None = None,
    peer_urls: dict[str, str | None] | None = None,
    secrets: dict[str, str] | None = None,
) -> tuple[RecordingMocks, dict[str, Any]]:
    """Run the real program (stacks.program.main) under mocks on the config the CLI would give
    it; return what it registered and the stack's resolved outputs."""
    from stacks.program import main

    config = cli_config(stack, sets, secrets)
    mocks = RecordingMocks(peer_urls or {})
    pulumi.runtime.set_mocks(mocks, project="lambda", stack=stack, preview=False, organization=ORG)
    mocks.watch(pulumi.runtime.settings.get_monitor())
    pulumi.runtime.set_all_config(
        {key: value.text for key, value in config.items()},
        [key for key, value in config.items() if value.secure],
    )
    result: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        component = main()
        return pulumi.Output.all(**component.outputs.as_dict()).apply(result.update)

    program()
    mocks.settle()
    return mocks, result
