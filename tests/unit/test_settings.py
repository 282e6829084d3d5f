"""Settings are read once, typed, and fail at start with the key's name."""

from __future__ import annotations

from pathlib import Path

import pytest

from functions.core.errors import ConfigError
from functions.core.settings import BUCKET, Settings, require


def test_defaults_serve_the_embedded_app_on_loopback() -> None:
    settings = Settings.from_env({})
    assert (settings.host, settings.port, settings.data_dir) == ("127.0.0.1", 8080, Path(".data"))
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.peer_urls == ()


def test_values_are_parsed_and_normalised() -> None:
    settings = Settings.from_env(
        {
            "PORT": "9000",
            "LAMBDA_PEER_URLS": " https://a.example/ ,http://127.0.0.1:8081,",
            "LAMBDA_MAX_BODY_BYTES": "2048",
            "LAMBDA_LOG_LEVEL": "debug",
        }
    )
    assert settings.port == 9000
    assert settings.peer_urls == ("https://a.example", "http://127.0.0.1:8081")
    assert settings.max_body_bytes == 2048
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("PORT", "eighty"),
        ("PORT", "70000"),
        ("LAMBDA_MAX_BODY_BYTES", "0"),
        ("LAMBDA_PEER_URLS", "ftp://x"),
        ("LAMBDA_PEER_URLS", "not a url"),
    ],
)
def test_a_bad_value_fails_naming_its_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=key):
        Settings.from_env({key: value})


def test_a_missing_required_value_names_its_key() -> None:
    with pytest.raises(ConfigError, match=f"'{BUCKET}' is missing"):
        require(Settings.from_env({}).bucket, BUCKET)
