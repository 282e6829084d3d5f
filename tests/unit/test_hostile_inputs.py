"""Values that parse but must not pass: settings that make no sense, credentials in a peer URL,
envelope times out of range in UTC, an empty bearer token. Each answers a clear error (a 4xx
in the one JSON shape, or one line at start naming the setting), never a 500."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from functions.core.errors import ConfigError
from functions.core.settings import Settings
from tests.conftest import CoreClient, MakeClient
from tests.unit.test_app import envelope, post_envelope


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("LAMBDA_OUTBOX_BACKOFF", "1e12,1e12"),  # a retry date past year 9999
        ("LAMBDA_OUTBOX_BACKOFF", "inf,inf"),
        ("LAMBDA_OUTBOX_BACKOFF", "nan,5"),
        ("LAMBDA_OUTBOX_BACKOFF", "60,5"),  # a base above its cap
        ("LAMBDA_OUTBOX_BACKOFF", "5"),
        ("LAMBDA_OUTBOX_BACKOFF", "1,2,3"),
        ("LAMBDA_OUTBOX_RETRY_INTERVAL", "inf"),
        ("LAMBDA_OUTBOX_RETRY_INTERVAL", "1e9"),
        ("LAMBDA_FANOUT_TIMEOUT", "inf"),
        ("LAMBDA_FANOUT_TIMEOUT", "86400"),
    ],
)
def test_a_setting_that_parses_but_makes_no_sense_is_refused_naming_it(
    key: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=key):
        Settings.from_env({key: value, "LAMBDA_PEER_SECRET": "s"})


def test_the_largest_sensible_values_are_accepted() -> None:
    settings = Settings.from_env(
        {
            "LAMBDA_OUTBOX_BACKOFF": "604800,604800",
            "LAMBDA_OUTBOX_RETRY_INTERVAL": "86400",
            "LAMBDA_FANOUT_TIMEOUT": "300",
        }
    )
    assert settings.outbox_backoff_s == (604800.0, 604800.0)
    assert (settings.outbox_retry_interval_s, settings.fanout_timeout_s) == (86400.0, 300.0)


@pytest.mark.parametrize(
    "urls",
    [
        "https://user:pw@peer.example",
        "https://token@peer.example/",
        "https://ok.example,https://u:p@bad.example",
    ],
)
def test_a_peer_url_with_credentials_is_refused_without_printing_them(urls: str) -> None:
    with pytest.raises(ConfigError, match="LAMBDA_PEER_URLS") as refused:
        Settings.from_env({"LAMBDA_PEER_URLS": urls, "LAMBDA_PEER_SECRET": "s"})
    assert "pw" not in str(refused.value)
    assert "credentials" in str(refused.value)


def test_the_local_server_refuses_credentials_in_a_peer_url_in_one_line(tmp_path: object) -> None:
    env = {
        "LAMBDA_PEER_URLS": "https://user:hunter2@peer.example",
        "LAMBDA_PEER_SECRET": "s",
        "DATA_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-m", "functions.local"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert "LAMBDA_PEER_URLS" in done.stderr
    assert "hunter2" not in done.stderr + done.stdout


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_an_envelope_time_in_range_as_written_but_not_in_utc_is_a_400(
    make_client: MakeClient, moment: str
) -> None:
    from tests.unit.test_app import PEER_SECRET

    client = make_client(Settings(peer_secret=PEER_SECRET))
    status, body, _ = post_envelope(client, envelope(received_at=moment))
    assert status == 400, body
    assert body["error"]["code"] == "bad_request"
    assert "received_at" in body["error"]["message"]


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer ", "Bearer  ", "bearer", ""])
def test_an_empty_bearer_token_is_no_reader_where_no_read_token_is_set(
    authorization: str,
) -> None:
    # GIVEN a deployment with no read token and no jobs token at all
    from functions.core.app import App
    from functions.core.services import Services
    from tests.support.fakes import MemoryBlobStore

    client = CoreClient(App(Services(Settings(), "local", MemoryBlobStore)))
    assert client.app.settings.read_token is None
    headers = {"authorization": authorization}
    # THEN neither reads nor the peers' details open up to an empty credential
    status, body, _ = client.request("GET", "/query", headers=headers, query={"source": "s"})
    assert status == 401, body
    status, body, _ = client.request("GET", "/peers", headers=headers)
    assert (status, sorted(body)) == (200, ["peer_count"])
    status, body, _ = client.request("POST", "/internal/outbox/requeue", headers=headers)
    assert status == 401, json.dumps(body)
