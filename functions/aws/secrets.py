"""The function's secrets, from AWS Secrets Manager, read once per warm instance, when a route
first needs them (`/health` never does).

The stack keeps the peer key, the peers' keys, the tokens and the webhook rules in one secret
(a JSON object of environment names to values) and gives the function only its ARN
(`LAMBDA_SECRETS_ARN`) and `secretsmanager:GetSecretValue` on it: nothing secret sits in the
function's configuration, where anyone who may read the function would see it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from functions.core.errors import ConfigError
from functions.core.settings import PEER_URLS

SECRETS_ARN = "LAMBDA_SECRETS_ARN"


def with_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment, plus the secret's values when LAMBDA_SECRETS_ARN names one."""
    arn = environ.get(SECRETS_ARN, "").strip()
    if not arn:
        return dict(environ)
    from functions.aws import sdk

    try:
        raw = sdk.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
        values = json.loads(raw)
    except Exception as exc:  # any failure here means the function cannot start correctly
        raise ConfigError(f"Config '{SECRETS_ARN}': cannot read the secret: {exc}") from exc
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        raise ConfigError(f"Config '{SECRETS_ARN}': the secret must be a JSON object of strings")
    return {**environ, **values}


def without_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment for the routes that need no secret (`/health`): the secret left unread,
    and the settings that are checked against a secret's value (peer URLs) set aside."""
    return {k: v for k, v in environ.items() if k not in (SECRETS_ARN, PEER_URLS)}
