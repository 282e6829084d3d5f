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
            "LAMBDA_SYNC": " SyncFS ",
        }
    )
    assert settings.sync == "syncfs"
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


# The whole line a user reads when a setting is refused: the key, then what is wrong with it.
@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("PORT", "70000", "must be a TCP port number"),
        ("PORT", "65536", "must be a TCP port number"),
        ("PORT", "-1", "must be a TCP port number"),
        ("LAMBDA_MAX_BODY_BYTES", "0", "must be a positive integer"),
        ("LAMBDA_OUTBOX_MAX_ATTEMPTS", "-3", "must be a positive integer"),
        ("LAMBDA_LOG_LEVEL", "loud", "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("LAMBDA_SYNC", "never", "must be one of fsync, syncfs"),
        ("LAMBDA_FANOUT_TIMEOUT", "0", "must be a positive, finite number"),
        ("LAMBDA_OUTBOX_BACKOFF", "5,-1", "must be a positive, finite number"),
        ("LAMBDA_PEER_KEYS", '["a", ""]', "must be a JSON array of non-empty strings"),
        ("LAMBDA_WEBHOOKS", "[1]", "must be a JSON object of source -> rule"),
        (
            "LAMBDA_WEBHOOKS",
            '{"gh": {"scheme": "gitlab"}}',
            "rule for 'gh' needs a scheme among github, stripe, standard, none",
        ),
        (
            "LAMBDA_WEBHOOKS",
            '{"gh": {"scheme": "github"}}',
            "rule for 'gh' (github) needs a non-empty secret",
        ),
        (
            "LAMBDA_WEBHOOKS",
            '{"gh": {"scheme": "github", "secret": "  "}}',
            "rule for 'gh' (github) needs a non-empty secret",
        ),
        (
            "LAMBDA_WEBHOOKS",
            '{"p": {"scheme": "stripe", "secret": "s", "tolerance": 0}}',
            "rule for 'p': tolerance must be a positive whole number of seconds, not 0",
        ),
        (
            "LAMBDA_WEBHOOKS",
            '{"p": {"scheme": "stripe", "secret": "s", "tolerance": true}}',
            "rule for 'p': tolerance must be a positive whole number of seconds, not True",
        ),
        (
            "LAMBDA_WEBHOOKS",
            '{"a": {"scheme": "standard", "secret": "s", "tolerance": 60}}',
            "rule for 'a': the standard scheme's tolerance is fixed at five minutes by the "
            "Standard Webhooks library",
        ),
    ],
)
def test_a_refused_value_says_which_key_and_what_is_wrong(
    key: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({key: value})
    assert str(caught.value) == f"Config '{key}' has an invalid value: {message}"


@pytest.mark.parametrize(("port", "expected"), [("0", 0), ("1", 1), ("65535", 65535)])
def test_every_tcp_port_number_is_accepted(port: str, expected: int) -> None:
    assert Settings.from_env({"PORT": port}).port == expected


def test_a_positive_integer_setting_takes_one() -> None:
    assert Settings.from_env({"LAMBDA_OUTBOX_MAX_ATTEMPTS": "1"}).outbox_max_attempts == 1


def test_a_rule_keeps_its_scheme_secret_and_tolerance_and_none_needs_no_secret() -> None:
    raw = (
        '{"p": {"scheme": "stripe", "secret": "whsec_1", "tolerance": 1},'
        ' "o": {"scheme": "none", "secret": "ignored"}, "q": {"scheme": "none"}}'
    )
    rules = Settings.from_env({"LAMBDA_WEBHOOKS": raw}).webhooks
    assert tuple(rules["p"]) == ("stripe", "whsec_1", 1)
    assert tuple(rules["o"]) == ("none", "", 300)
    assert tuple(rules["q"]) == ("none", "", 300)


def test_the_settings_repr_shows_every_setting_but_the_secrets() -> None:
    shown = repr(Settings(port=9000, read_token="tok", bucket="b"))
    assert shown.startswith("Settings(origin=None, bucket='b', peer_urls=(), ")
    assert "port=9000, " in shown
    assert "tok" not in shown
    assert "read_token" not in shown


def test_an_empty_environment_gives_exactly_the_documented_defaults() -> None:
    assert Settings.from_env({}) == Settings()
    assert (Settings().fanout_timeout_s, Settings().outbox_retry_interval_s) == (2.0, 10.0)
    assert (Settings().outbox_max_attempts, Settings().outbox_backoff_s) == (12, (5.0, 600.0))
    assert (Settings().log_level, Settings().memory_mb) == ("INFO", None)
    assert Settings().sync == "fsync"


def test_the_functions_memory_set_by_the_stack_wins_over_lambdas_own() -> None:
    both = {"LAMBDA_MEMORY_MB": "768", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"}
    assert Settings.from_env(both).memory_mb == 768
