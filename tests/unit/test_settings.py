"""Settings are read once, typed, and fail at start with the key's name."""

from __future__ import annotations

import pytest

from functions.core.errors import ConfigError
from functions.core.settings import BUCKET, Settings, require


def test_defaults_serve_the_embedded_app_on_loopback() -> None:
    settings = Settings.from_env({})
    assert (settings.host, settings.port, settings.data_dir) == ("127.0.0.1", 8080, ".data")
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.peer_urls == ()


def test_values_are_parsed_and_normalised() -> None:
    settings = Settings.from_env(
        {
            "PORT": "9000",
            "LAMBDA_PEER_URLS": " https://a.example/ ,http://127.0.0.1:8081,",
            "LAMBDA_PEER_SECRET": "s",
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


def test_peers_without_a_signing_secret_fail_at_start() -> None:
    with pytest.raises(ConfigError, match="LAMBDA_PEER_SECRET"):
        Settings.from_env({"LAMBDA_PEER_URLS": "https://a.example"})


def test_secrets_never_appear_in_the_settings_repr() -> None:
    settings = Settings.from_env(
        {
            "LAMBDA_PEER_URLS": "https://a.example",
            "LAMBDA_PEER_SECRET": "p-s3cret",
            "LAMBDA_RETRY_TOKEN": "r-s3cret",
            "LAMBDA_WEBHOOKS": '{"github": {"scheme": "github", "secret": "g-s3cret"}}',
        }
    )
    assert settings.webhooks["github"].secret == "g-s3cret"
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    "raw",
    [
        '{"gh": {"scheme": "gitlab", "secret": "x"}}',
        '{"gh": {"scheme": "github"}}',
        "[1]",
        "{not json",
    ],
)
def test_a_bad_webhook_rule_fails_naming_the_key_but_not_the_value(raw: str) -> None:
    with pytest.raises(ConfigError, match="LAMBDA_WEBHOOKS") as caught:
        Settings.from_env({"LAMBDA_WEBHOOKS": raw})
    assert raw not in str(caught.value)
