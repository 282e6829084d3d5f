"""Typed settings, read once from the environment into a frozen object.

No other module reads `os.environ`; adapters call `Settings.from_env()` once at start.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from functions.core.errors import ConfigError

# Environment variable names: the deployment (stacks/) sets these, so they are a contract.
ORIGIN = "LAMBDA_ORIGIN"
BUCKET = "LAMBDA_BUCKET"
PEER_URLS = "LAMBDA_PEER_URLS"
MAX_BODY_BYTES = "LAMBDA_MAX_BODY_BYTES"
LOG_LEVEL = "LAMBDA_LOG_LEVEL"
AZURE_CONNECTION_STRING = "LAMBDA_AZURE_CONNECTION_STRING"
AZURE_ACCOUNT_URL = "LAMBDA_AZURE_ACCOUNT_URL"
DATA_DIR = "DATA_DIR"
HOST = "HOST"
PORT = "PORT"

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
            raise ConfigError(f"Config '{key}' has an invalid value {raw!r}: {exc}") from exc

    def optional(self, key: str) -> str | None:
        return self._environ.get(key, "").strip() or None


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
    urls = tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{url!r} is not an http(s) URL")
    return urls


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment, typed and validated."""

    origin: str | None = None
    bucket: str | None = None
    peer_urls: tuple[str, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    log_level: str = "INFO"
    data_dir: Path = Path(".data")
    host: str = "127.0.0.1"
    port: int = 8080
    azure_connection_string: str | None = None
    azure_account_url: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = Env(os.environ if environ is None else environ)
        return cls(
            origin=env.optional(ORIGIN),
            bucket=env.optional(BUCKET),
            peer_urls=env.get(PEER_URLS, _url_list, ()),
            max_body_bytes=env.get(MAX_BODY_BYTES, _positive_int, DEFAULT_MAX_BODY_BYTES),
            log_level=env.get(LOG_LEVEL, str.upper, "INFO"),
            data_dir=env.get(DATA_DIR, Path, Path(".data")),
            host=env.get(HOST, str, "127.0.0.1"),
            port=env.get(PORT, _port, 8080),
            azure_connection_string=env.optional(AZURE_CONNECTION_STRING),
            azure_account_url=env.optional(AZURE_ACCOUNT_URL),
        )
