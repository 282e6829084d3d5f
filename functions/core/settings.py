"""Typed settings, read once from the environment into a frozen object; every one is in
docs/configuration.md. No other module reads `os.environ` (tests/unit/test_architecture.py
checks): adapters call `Settings.from_env()` once at start.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, TypeVar

from functions.core.errors import ConfigError

# Environment variable names: the deployment (stacks/) sets these, so they are a contract.
ORIGIN = "LAMBDA_ORIGIN"
BUCKET = "LAMBDA_BUCKET"
PEER_URLS = "LAMBDA_PEER_URLS"
MAX_BODY_BYTES = "LAMBDA_MAX_BODY_BYTES"
LOG_LEVEL = "LAMBDA_LOG_LEVEL"
AZURE_CONNECTION_STRING = "LAMBDA_AZURE_CONNECTION_STRING"
AZURE_ACCOUNT_URL = "LAMBDA_AZURE_ACCOUNT_URL"
PEER_SECRET = "LAMBDA_PEER_SECRET"
PEER_KEYS = "LAMBDA_PEER_KEYS"
RETRY_TOKEN = "LAMBDA_RETRY_TOKEN"
READ_TOKEN = "LAMBDA_READ_TOKEN"
WEBHOOKS = "LAMBDA_WEBHOOKS"
FANOUT_TIMEOUT = "LAMBDA_FANOUT_TIMEOUT"
RETRY_TIMEOUT = "LAMBDA_RETRY_TIMEOUT"  # seconds: one attempt of the outbox retry job
OUTBOX_MAX_ATTEMPTS = "LAMBDA_OUTBOX_MAX_ATTEMPTS"
OUTBOX_BACKOFF = "LAMBDA_OUTBOX_BACKOFF"
OUTBOX_RETRY_INTERVAL = "LAMBDA_OUTBOX_RETRY_INTERVAL"
MEMORY_MB = "LAMBDA_MEMORY_MB"
JOB_TIMEOUT = "LAMBDA_JOB_TIMEOUT"  # seconds: how long a job lease holds (core/lease.py)
LAMBDA_MEMORY = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"  # set by the Lambda runtime itself
LAMBDA_RUNTIME_API = "AWS_LAMBDA_RUNTIME_API"  # set by Lambda in every function
CLOUD_RUN_SERVICE = "K_SERVICE"  # set by Cloud Run, where Cloud Functions 2nd gen runs
# Azure, on every plan: Linux Consumption and Flex Consumption name the instance's container
# (the Functions host's EnvironmentExtensions reads CONTAINER_NAME, or WEBSITE_POD_NAME on
# Flex), App Service plans set WEBSITE_INSTANCE_ID; the Python worker's own
# `is_azure_environment` checks the first and the last.
AZURE_INSTANCE = ("CONTAINER_NAME", "WEBSITE_POD_NAME", "WEBSITE_INSTANCE_ID")
DATA_DIR = "DATA_DIR"
HOST = "HOST"
PORT = "PORT"
WORKERS = "LAMBDA_WORKERS"
SYNC = "LAMBDA_SYNC"
RECONCILE_DAYS = "LAMBDA_RECONCILE_DAYS"
STORAGE_EMULATOR_HOST = "STORAGE_EMULATOR_HOST"  # google-cloud-storage's own emulator switch
SYNC_MODES = ("fsync", "syncfs")  # how the local store flushes (functions/local/durable)

DEFAULT_MAX_BODY_BYTES = 1024 * 1024

T = TypeVar("T")


class Env:
    """Reads named values from a mapping, failing with the key's name when one is bad."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def get(self, key: str, cast: Callable[[str], T], default: T) -> T:
        raw = self._environ.get(key, "").strip()
        if not raw:
            return default
        try:
            return cast(raw)
        except ValueError as exc:
            # The value itself may be a secret: name the key and the problem, not the value.
            raise ConfigError(f"Config '{key}' has an invalid value: {exc}") from exc

    def optional(self, key: str) -> str | None:
        return self._environ.get(key, "").strip() or None


def platform_sets(*variables: str) -> bool:
    """Whether the platform that sets one of `variables` in every function is running this one
    (read before any setting, at the adapter's first import: functions/core/gc_hold.py)."""
    return any(variable in os.environ for variable in variables)


def require(value: T | None, key: str) -> T:
    """Return a setting that this adapter cannot start without."""
    if value is None:
        raise ConfigError(f"Config '{key}' is missing, and has no default.")
    return value


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 <= value <= 65535:
        raise ValueError("must be a TCP port number")
    return value


def _url_list(raw: str) -> tuple[str, ...]:
    from urllib.parse import urlsplit  # only when peers are configured

    urls = tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())
    for n, url in enumerate(urls, 1):
        parts = urlsplit(url)
        # Credentials would show in /peers and every failed-delivery log line; peers prove who
        # they are by signatures (LAMBDA_PEER_SECRET), never by a password in the URL.
        if "@" in parts.netloc:
            raise ValueError(f"peer URL {n} carries credentials (user:password@): remove them")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{url!r} is not an http(s) URL")
    return urls


def _string_list(raw: str) -> tuple[str, ...]:
    """A JSON array of non-empty strings (keys may hold any character, so no comma lists)."""
    data = json.loads(raw)
    if not isinstance(data, list) or not all(isinstance(k, str) and k for k in data):
        raise ValueError("must be a JSON array of non-empty strings")
    return tuple(data)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
    return level


def _sync_mode(raw: str) -> str:
    mode = raw.lower()
    if mode not in SYNC_MODES:
        raise ValueError(f"must be one of {', '.join(SYNC_MODES)}")
    return mode


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not 0 < value < math.inf:  # (NaN compares false: refused too)
        raise ValueError("must be a positive, finite number")
    return value


def _seconds_up_to(limit: float, unit: str) -> Callable[[str], float]:
    """A positive number of seconds no larger than `limit`: values that parse but make no sense
    (a retry every 1e12 s overflows the clock; `inf` never runs) stop the start."""

    def cast(raw: str) -> float:
        value = _positive_float(raw)
        if value > limit:
            raise ValueError(f"must be at most {limit:g} seconds ({unit})")
        return value

    return cast


def _retry_timeout(job_timeout_s: int, fanout_timeout_s: float) -> Callable[[str], float]:
    """At most five minutes, and a quarter of the job's timeout: a run probes, then delivers
    for the rest of its budget, and each record it starts must end within it. At least the
    webhook's own bound: the retry job is there for the peers too slow for it."""
    quarter = job_timeout_s / 4

    def cast(raw: str) -> float:
        value = _seconds_up_to(300, "five minutes")(raw)
        if value > quarter:
            raise ValueError(f"must be at most a quarter of {JOB_TIMEOUT} ({quarter:g} seconds)")
        if value < fanout_timeout_s:
            raise ValueError(f"must be at least {FANOUT_TIMEOUT} ({fanout_timeout_s:g} seconds)")
        return value

    return cast


def _days(raw: str) -> int:
    value = _positive_int(raw)
    if value > 3660:
        raise ValueError("must be at most 3660 days (ten years)")
    return value


WEEK_S = 7 * 24 * 3600.0
_backoff_part = _seconds_up_to(WEEK_S, "a week")


def _backoff(raw: str) -> tuple[float, float]:
    """'BASE,CAP' in seconds, each at most a week, BASE <= CAP: retry n waits
    min(BASE * 2**n, CAP)."""
    parts = raw.split(",")
    if len(parts) != 2:
        raise ValueError("must be BASE,CAP in seconds")
    base, cap = (_backoff_part(part) for part in parts)
    if base > cap:
        raise ValueError("BASE must not be larger than CAP")
    return base, cap


class WebhookRule(NamedTuple):
    """How one source's inbound webhooks are verified."""

    scheme: str  # github | stripe | standard | none
    secret: str = ""
    tolerance_s: int = 300

    def __repr__(self) -> str:
        return f"WebhookRule(scheme={self.scheme!r}, tolerance_s={self.tolerance_s})"


SCHEMES = ("github", "stripe", "standard", "none")


def _webhook_rules(raw: str) -> dict[str, WebhookRule]:
    """JSON: {"source": {"scheme": "github", "secret": "...", "tolerance": 300}, ...}."""
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("must be a JSON object of source -> rule")
    return {source: _webhook_rule(source, rule) for source, rule in data.items()}


def _webhook_rule(source: str, rule: Any) -> WebhookRule:
    """A rule that would switch verification off by accident is refused, naming the source:
    no secret (or a blank one) where the scheme needs one, a tolerance of zero, negative or
    not a whole number (Stripe's library reads a zero tolerance as "no timestamp check")."""
    if not isinstance(rule, dict) or rule.get("scheme") not in SCHEMES:
        raise ValueError(f"rule for {source!r} needs a scheme among {', '.join(SCHEMES)}")
    scheme, secret = rule["scheme"], rule.get("secret", "")
    if scheme != "none" and (not isinstance(secret, str) or not secret.strip()):
        raise ValueError(f"rule for {source!r} ({scheme}) needs a non-empty secret")
    tolerance = rule.get("tolerance", 300)
    if isinstance(tolerance, bool) or not isinstance(tolerance, int) or tolerance <= 0:
        raise ValueError(
            f"rule for {source!r}: tolerance must be a positive whole number of "
            f"seconds, not {tolerance!r}"
        )
    if scheme == "standard" and "tolerance" in rule:
        raise ValueError(
            f"rule for {source!r}: the standard scheme's tolerance is fixed at "
            "five minutes by the Standard Webhooks library"
        )
    return WebhookRule(scheme, secret if scheme != "none" else "", tolerance)


SECRET_FIELDS = frozenset(
    {
        "azure_connection_string",
        "peer_secret",
        "peer_keys",
        "retry_token",
        "read_token",
        "webhooks",
    }
)


class Settings(NamedTuple):
    """Everything the app reads from its environment, typed and validated."""

    origin: str | None = None
    bucket: str | None = None
    peer_urls: tuple[str, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    log_level: str = "INFO"
    data_dir: str = ".data"
    host: str = "127.0.0.1"
    port: int = 8080
    azure_connection_string: str | None = None
    azure_account_url: str | None = None
    peer_secret: str | None = None
    peer_keys: tuple[str, ...] = ()
    retry_token: str | None = None
    read_token: str | None = None
    webhooks: dict[str, WebhookRule] = {}  # noqa: RUF012 - never mutated
    fanout_timeout_s: float = 2.0
    retry_timeout_s: float = 30.0  # unless set: 30 s, or a quarter of the job timeout if less
    outbox_max_attempts: int = 12
    outbox_backoff_s: tuple[float, float] = (5.0, 600.0)
    outbox_retry_interval_s: float = 10.0
    memory_mb: int | None = None
    job_timeout_s: int = 900  # the platform stops a job run by then: its lease lapses after
    workers: int | None = None  # local server processes; None: two per CPU (at most 8)
    sync: str = "fsync"  # local store: file and folder fsync, or one syncfs per batch
    storage_emulator_host: str | None = None  # GCP: an emulator, reached without credentials
    reconcile_days: int = 7  # the window a reconcile run compares with each peer

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self._asdict().items() if k not in SECRET_FIELDS)
        return f"Settings({shown})"

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        extend: Callable[[Mapping[str, str]], Mapping[str, str]] | None = None,
    ) -> Settings:
        """The settings from `environ` (the process environment unless given), after `extend`
        adds values kept elsewhere (on AWS, the Secrets Manager secret's)."""
        raw: Mapping[str, str] = os.environ if environ is None else environ
        env = Env(extend(raw) if extend else raw)
        settings = cls(
            origin=env.optional(ORIGIN),
            bucket=env.optional(BUCKET),
            peer_urls=env.get(PEER_URLS, _url_list, ()),
            max_body_bytes=env.get(MAX_BODY_BYTES, _positive_int, DEFAULT_MAX_BODY_BYTES),
            log_level=env.get(LOG_LEVEL, _log_level, "INFO"),
            data_dir=env.get(DATA_DIR, str, ".data"),
            host=env.get(HOST, str, "127.0.0.1"),
            port=env.get(PORT, _port, 8080),
            azure_connection_string=env.optional(AZURE_CONNECTION_STRING),
            azure_account_url=env.optional(AZURE_ACCOUNT_URL),
            peer_secret=env.optional(PEER_SECRET),
            peer_keys=env.get(PEER_KEYS, _string_list, ()),
            retry_token=env.optional(RETRY_TOKEN),
            read_token=env.optional(READ_TOKEN),
            webhooks=env.get(WEBHOOKS, _webhook_rules, {}),
            fanout_timeout_s=(
                fanout := env.get(FANOUT_TIMEOUT, _seconds_up_to(300, "five minutes"), 2.0)
            ),
            outbox_max_attempts=env.get(OUTBOX_MAX_ATTEMPTS, _positive_int, 12),
            outbox_backoff_s=env.get(OUTBOX_BACKOFF, _backoff, (5.0, 600.0)),
            outbox_retry_interval_s=env.get(
                OUTBOX_RETRY_INTERVAL, _seconds_up_to(24 * 3600, "a day"), 10.0
            ),
            memory_mb=env.get(MEMORY_MB, _positive_int, None)
            or env.get(LAMBDA_MEMORY, _positive_int, None),
            job_timeout_s=(job_timeout := env.get(JOB_TIMEOUT, _positive_int, 900)),
            retry_timeout_s=env.get(
                RETRY_TIMEOUT,
                _retry_timeout(job_timeout, fanout),
                max(fanout, min(30.0, job_timeout / 4)),  # never under the webhook's bound
            ),
            workers=env.get(WORKERS, _positive_int, None),
            sync=env.get(SYNC, _sync_mode, "fsync"),
            storage_emulator_host=env.optional(STORAGE_EMULATOR_HOST),
            reconcile_days=env.get(RECONCILE_DAYS, _days, 7),
        )
        if settings.peer_urls and not settings.peer_secret:
            raise ConfigError(f"Config '{PEER_SECRET}' is missing: peers need a signing secret.")
        return settings
