"""The AWS SDK as the function uses it: botocore alone, one lean session per instance.

boto3 adds nothing the function calls (no resources, no managed transfers) and costs its own
imports plus s3transfer's, hooked into every S3 client it creates; the archive ships botocore's
models trimmed to the operations below and S3's endpoint rules to the parameters pinned below
(stacks/boto_models.py). The session registers botocore's own handlers for these services
only, and takes Lambda's credentials from the environment when they are there. See
docs/deploying.md (cold starts).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

# Every operation the function calls, per service: the archive's models hold these only.
OPERATIONS: dict[str, frozenset[str]] = {
    "s3": frozenset({"PutObject", "GetObject", "ListObjectsV2", "DeleteObject"}),
    "secretsmanager": frozenset({"GetSecretValue"}),
}
# Each service's name in botocore's event names (its model's service id, hyphenized).
EVENT_NAMES = {"s3": "s3", "secretsmanager": "secrets-manager"}
# Endpoint-rule parameters every client pins: no FIPS, dual-stack or Transfer Acceleration
# endpoint (the stacks provision none), whatever the environment says. The archive's endpoint
# rules drop the branches these rule out.
PINNED_RULE_PARAMETERS = {"UseFIPS": False, "UseDualStack": False, "Accelerate": False}
_PINNED_CONFIG: dict[str, Any] = {
    "use_fips_endpoint": False,
    "use_dualstack_endpoint": False,
    "s3": {"use_accelerate_endpoint": False, "use_dualstack_endpoint": False},
}


def _service_of(event_name: str) -> str | None:
    """The service an event name is scoped to ("before-call.s3.PutObject" -> "s3"; docs
    events put a section first: "docs.request-params.s3.*"), or None for every service."""
    parts = event_name.split(".")
    position = 2 if parts[0] == "docs" else 1
    service = parts[position] if len(parts) > position else "*"
    return None if service == "*" else service


def builtin_handlers(services: frozenset[str]) -> Iterator[tuple[Any, ...]]:
    """botocore's built-in handlers (`botocore.handlers.BUILTIN_HANDLERS`, in its order) that
    can fire for `services`' clients: botocore registers all ~130, one signature inspection
    and one alias lookup each, for every service it knows (most of a session's creation)."""
    from botocore.handlers import BUILTIN_HANDLERS

    names = {EVENT_NAMES[s] for s in services}
    for spec in BUILTIN_HANDLERS:
        service = _service_of(spec[0])
        if service is None or service in names:
            yield spec


def register_builtin_handlers(emitter: Any, specs: Iterator[tuple[Any, ...]]) -> None:
    """Register handler specs as botocore's session does (first, last, or in turn)."""
    from botocore.handlers import REGISTER_FIRST, REGISTER_LAST

    for event_name, handler, *where in specs:
        if where == [REGISTER_FIRST]:
            emitter.register_first(event_name, handler)
        elif where == [REGISTER_LAST]:
            emitter.register_last(event_name, handler)
        else:
            emitter.register(event_name, handler)


def new_session(emitter: Any = None) -> Any:
    """A botocore session for OPERATIONS' services. Its handlers go straight to the emitter
    (a `botocore.hooks.HierarchicalEmitter`) under their own names: botocore's event aliases
    rename old service names, none of which names these services
    (tests/adapters/test_aws_session.py)."""
    from functions.aws import docstrings

    docstrings.defer()  # before botocore.client loads
    import botocore.session
    from botocore.credentials import CredentialResolver, EnvProvider
    from botocore.hooks import HierarchicalEmitter

    emitter = emitter if emitter is not None else HierarchicalEmitter()
    made = botocore.session.Session(event_hooks=emitter, include_builtin_handlers=False)
    register_builtin_handlers(emitter, builtin_handlers(frozenset(OPERATIONS)))
    environment = EnvProvider()
    # Lambda gives the role's credentials in the environment: the rest of the chain (files,
    # SSO, container and instance metadata clients) is never built. With SnapStart, Lambda
    # gives them through the container provider instead, and the whole chain stays.
    if environment.load() is not None:
        made.register_component("credential_provider", CredentialResolver([environment]))
    return made


@functools.cache
def session() -> Any:
    """One session per instance: its loader caches the models every client shares."""
    return new_session()


def client(service: str, **config: Any) -> Any:
    """A client for one of OPERATIONS' services. The region, credentials and
    `AWS_ENDPOINT_URL_<SERVICE>` (the emulators in tests) come from the environment, as boto3
    would read them: boto3 reads them through this same botocore."""
    if service not in OPERATIONS:
        raise ValueError(f"the archive ships no model for {service!r}")
    return session().create_client(service, config=pinned_config(**config))


def pinned_config(**config: Any) -> Any:
    """A client's `botocore.config.Config`: `config` with PINNED_RULE_PARAMETERS' settings."""
    from botocore.config import Config

    return Config(**{**_PINNED_CONFIG, **config})


def close(made: Any) -> None:
    """Drop a client's pooled connections (after a SnapStart restore they are another
    instance's sockets); the next request opens new ones."""
    made._endpoint.http_session.close()
