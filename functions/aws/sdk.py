"""The AWS SDK as the function uses it: botocore alone, one session per instance.

boto3 adds nothing the function calls (no resources, no managed transfers) and costs its own
imports plus s3transfer's, hooked into every S3 client it creates; the archive ships botocore's
models trimmed to the operations below (stacks/packaging.py). See docs/deploying.md (cold
starts).
"""

from __future__ import annotations

import functools
from typing import Any

# Every operation the function calls, per service: the archive's models hold these only.
OPERATIONS: dict[str, frozenset[str]] = {
    "s3": frozenset({"PutObject", "GetObject", "ListObjectsV2", "DeleteObject"}),
    "secretsmanager": frozenset({"GetSecretValue"}),
}


@functools.cache
def session() -> Any:
    """One botocore session per instance: its loader caches the models every client shares."""
    import botocore.session

    return botocore.session.Session()


def client(service: str, **config: Any) -> Any:
    """A client for one of OPERATIONS' services. The region, credentials and
    `AWS_ENDPOINT_URL_<SERVICE>` (the emulators in tests) come from the environment, as boto3
    would read them: boto3 reads them through this same botocore."""
    if service not in OPERATIONS:
        raise ValueError(f"the archive ships no model for {service!r}")
    from botocore.config import Config

    return session().create_client(service, config=Config(**config) if config else None)


def close(made: Any) -> None:
    """Drop a client's pooled connections (after a SnapStart restore they are another
    instance's sockets); the next request opens new ones."""
    made._endpoint.http_session.close()
