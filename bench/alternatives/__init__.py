"""What a user would deploy instead of our function, for the same two routes (`GET /health`;
`POST /webhook/{source}` storing the envelope): each app under `apps/`, packaged the way it is
normally deployed, at requirements.lock's pins and with the target's bytecode, like our
archives. Measured beside ours by bench/contenders.py; never part of the product.
See docs/benchmarks.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Contender:
    label: str
    cloud: str  # whose archive layout, and whose emulator, it uses
    app: str  # the file under bench/alternatives/apps/, shipped as `entry`
    # The module the platform imports: "app" (Lambda), "main" (GCP: its target is `handle`),
    # "function_app" (Azure).
    entry: str
    call: str  # how the platform calls it: a key of bench/contenders.py's CALLS
    requirements: tuple[str, ...] = ()
    # Files taken from a package without its dependencies: Chalice's deployment package holds
    # its runtime (chalice/app.py, standalone by design), never its CLI.
    runtime_files: tuple[tuple[str, tuple[str, ...]], ...] = ()


CONTENDERS = (
    Contender("aws: bare json + boto3", "aws", "aws_bare.py", "app", "lambda-url", ("boto3",)),
    Contender(
        "aws: Powertools",
        "aws",
        "aws_powertools.py",
        "app",
        "lambda-url",
        ("boto3", "aws-lambda-powertools"),
    ),
    Contender(
        "aws: Chalice",
        "aws",
        "aws_chalice.py",
        "app",
        "lambda-rest-chalice",
        ("boto3",),
        (("chalice", ("chalice/__init__.py", "chalice/app.py")),),
    ),
    Contender(
        "aws: FastAPI + Mangum",
        "aws",
        "aws_fastapi.py",
        "app",
        "lambda-url",
        ("boto3", "fastapi", "mangum"),
    ),
    # A source upload (main.py and requirements.txt), as Cloud Functions deploys one: Cloud Build
    # installs the requirements (bench/buildpack.py).
    Contender(
        "gcp: plain functions-framework",
        "gcp",
        "gcp_plain.py",
        "main",
        "gcp",
        ("functions-framework", "google-cloud-storage"),
    ),
    Contender(
        "azure: plain azure.functions",
        "azure",
        "azure_plain.py",
        "function_app",
        "azure",
        ("azure-functions", "azure-storage-blob"),
    ),
)
