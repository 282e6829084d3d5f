"""`make mesh`: the AWS, GCP and Azure adapters as three local processes on 127.0.0.1, each on
its own storage emulator, wired to each other as signed peers, with their retry schedules.

    .venv/bin/python -m scripts.mesh          # prints the three base URLs; Ctrl-C stops all

The AWS and Azure members are their real entry points behind `scripts.serve`; the GCP member is
`functions-framework`. Schedules: EventBridge and the Azure timer are played by `scripts.serve`,
Cloud Scheduler by a thread here that calls the GCP member's retry route with its token.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from scripts import members as listing
from tools import emulators
from tools.platforms import gcp_framework_argv
from tools.processes import ROOT, Server, free_port, interrupt_on_signals

CLOUDS = ("aws", "gcp", "azure")


@dataclass
class Member:
    name: str
    port: int
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    server: Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Mesh:
    def __init__(
        self,
        workdir: Path,
        fanout_timeout: float = 1.0,
        backoff: str = "0.2,2",
        schedule: float = 0.5,
        extra_peers: dict[str, list[str]] | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.secret = "whsec_" + secrets.token_urlsafe(32).replace("-", "A").replace("_", "B")
        self.token = secrets.token_urlsafe(24)
        self.read_token = secrets.token_urlsafe(24)
        self.fanout_timeout, self.backoff, self.schedule = fanout_timeout, backoff, schedule
        self.extra_peers = extra_peers or {}
        self.extra_env = extra_env or {}
        self.emulators: list[Server] = []
        self.members: dict[str, Member] = {}
        self.buckets = {cloud: emulators.unique_bucket(f"mesh-{cloud}") for cloud in CLOUDS}
        self._stop = threading.Event()

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Mesh:
        self.moto = emulators.start_moto(self.workdir)
        self.gcs = emulators.start_fake_gcs(self.workdir)
        self.azurite = emulators.start_azurite(self.workdir)
        self.emulators = [self.moto, self.gcs, self.azurite]
        self._create_buckets()
        ports = {cloud: free_port() for cloud in CLOUDS}
        for cloud in CLOUDS:
            self.members[cloud] = self._member(cloud, ports)
            self.start_member(cloud)
        threading.Thread(target=self._cloud_scheduler, daemon=True).start()
        return self

    def start_member(self, name: str) -> None:
        member = self.members[name]
        member.server = Server(f"mesh-{name}", member.argv, member.port, self.workdir, member.env)
        member.server.wait_for_http("/health", timeout=60)

    def stop_member(self, name: str) -> None:
        server = self.members[name].server
        if server is not None:
            server.stop()
            self.members[name].server = None

    def stop(self) -> None:
        self._stop.set()
        for name in self.members:
            self.stop_member(name)
        for server in self.emulators:
            server.stop()

    # --- wiring -------------------------------------------------------------------------------

    def _member(self, cloud: str, ports: dict[str, int]) -> Member:
        peers = [f"http://127.0.0.1:{p}" for c, p in ports.items() if c != cloud]
        env = {
            "PYTHONPATH": str(ROOT),
            "LAMBDA_ORIGIN": cloud,
            "LAMBDA_BUCKET": self.buckets[cloud],
            "LAMBDA_PEER_URLS": ",".join(peers + self.extra_peers.get(cloud, [])),
            "LAMBDA_PEER_SECRET": self.secret,
            "LAMBDA_RETRY_TOKEN": self.token,
            "LAMBDA_READ_TOKEN": self.read_token,
            "LAMBDA_FANOUT_TIMEOUT": str(self.fanout_timeout),
            "LAMBDA_OUTBOX_BACKOFF": self.backoff,
            "LAMBDA_LOG_LEVEL": "WARNING",
            **self.extra_env,
        }
        python = sys.executable
        serve = [
            python,
            "-m",
            "scripts.serve",
            cloud,
            "--port",
            str(ports[cloud]),
            "--schedule",
            str(self.schedule),
        ]
        if cloud == "aws":
            env.update(emulators.AWS_ENV, AWS_ENDPOINT_URL_S3=self.moto.url)
            return Member(cloud, ports[cloud], serve, env)
        if cloud == "azure":
            env["LAMBDA_AZURE_CONNECTION_STRING"] = emulators.azurite_connection_string(
                self.azurite
            )
            return Member(cloud, ports[cloud], serve, env)
        env["STORAGE_EMULATOR_HOST"] = self.gcs.url
        argv = gcp_framework_argv(ports[cloud])
        return Member(cloud, ports[cloud], argv, env)

    def _cloud_scheduler(self) -> None:
        """Cloud Scheduler's part: POST the GCP member's retry route with the bearer token."""
        while not self._stop.wait(self.schedule):
            if self.members["gcp"].server is None:
                continue
            with contextlib.suppress(httpx.HTTPError):  # the next tick tries again
                httpx.post(
                    f"{self.members['gcp'].url}/internal/outbox/retry",
                    timeout=30,
                    headers={"authorization": f"Bearer {self.token}"},
                )

    def _create_buckets(self) -> None:
        self._s3_client().create_bucket(Bucket=self.buckets["aws"])
        self._gcs_client().create_bucket(self.buckets["gcp"])
        from azure.storage.blob import BlobServiceClient

        BlobServiceClient.from_connection_string(
            emulators.azurite_connection_string(self.azurite)
        ).create_container(self.buckets["azure"])

    # --- direct access to each member's store, for tests and inspection -----------------------

    def _gcs_client(self) -> Any:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project="mesh",
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options={"api_endpoint": self.gcs.url},
        )

    def _s3_client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.moto.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def store(self, cloud: str) -> Any:
        if cloud == "aws":
            from functions.aws.store import S3BlobStore

            return S3BlobStore(self.buckets["aws"], client=self._s3_client())
        if cloud == "gcp":
            from functions.gcp.store import GCSBlobStore

            return GCSBlobStore(self.buckets["gcp"], client=self._gcs_client())
        from functions.azure.store import AzureBlobStore
        from functions.core.settings import Settings

        conn = emulators.azurite_connection_string(self.azurite)
        return AzureBlobStore.from_settings(
            self.buckets["azure"], Settings(azure_connection_string=conn)
        )


def main() -> None:
    interrupt_on_signals()  # Ctrl-C and kill stop the mesh, even started with SIGINT ignored
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fanout-timeout", type=float, default=2.0)
    parser.add_argument("--schedule", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lambda-mesh-") as tmp:
        mesh = Mesh(
            Path(tmp), fanout_timeout=args.fanout_timeout, backoff="1,30", schedule=args.schedule
        )
        try:
            mesh.start()
            print("LAMBDA mesh is up (Ctrl-C stops everything it started):")
            for name, member in mesh.members.items():
                print(f"  {name:<6} {member.url}")
            print(f"read token (Authorization: Bearer ...): {mesh.read_token}")
            print(f"logs: {tmp}")
            listing.write_mesh_file(
                [
                    listing.Member(n, m.url, mesh.read_token, mesh.token)
                    for n, m in mesh.members.items()
                ]
            )
            print("make status, make reconcile and make replay talk to it while it runs")
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            listing.MESH_FILE.unlink(missing_ok=True)
            mesh.stop()


if __name__ == "__main__":
    main()
