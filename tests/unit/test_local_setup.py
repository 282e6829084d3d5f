"""What `python -m functions.local` sets up before it serves: the read token it makes when none
is configured, and the retry loop that stands in for the clouds' schedules."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from functions.core.settings import Settings
from functions.local.server import READ_TOKEN_FILE, read_token, retry_loop
from tests.conftest import Captured


def test_a_configured_read_token_is_used_and_no_file_is_made(tmp_path: Path) -> None:
    settings = Settings(read_token="configured", data_dir=str(tmp_path))
    assert read_token(settings).read_token == "configured"
    assert not (tmp_path / READ_TOKEN_FILE).exists()


def test_without_one_a_private_token_is_made_once_and_kept_across_restarts(tmp_path: Path) -> None:
    settings = Settings(data_dir=str(tmp_path / "new"))
    first = read_token(settings).read_token
    again = read_token(settings).read_token
    path = tmp_path / "new" / READ_TOKEN_FILE
    assert first == again == path.read_text().strip()
    assert first is not None
    assert len(first) >= 32
    assert path.stat().st_mode & 0o777 == 0o600
    other = read_token(Settings(data_dir=str(tmp_path / "other"))).read_token
    assert other != first


class FailingRetries:
    """A retry job that fails twice, then signals the test."""

    def __init__(self) -> None:
        self.runs = 0
        self.third = threading.Event()

    def __call__(self) -> dict[str, int]:
        self.runs += 1
        if self.runs >= 3:
            self.third.set()
            return {}
        raise RuntimeError(f"store unreachable ({self.runs})")


def test_the_retry_loop_runs_every_interval_and_a_failed_run_does_not_stop_it(
    logs: Captured,
) -> None:
    job = FailingRetries()
    thread = retry_loop(job, logs.logger, 0.01)
    assert job.third.wait(30), "the loop stopped after a failed run"
    assert thread.daemon  # it never keeps the process alive
    failures = [line for line in logs.lines() if line["message"] == "outbox retry failed"]
    assert len(failures) >= 2


def test_the_server_listens_where_the_settings_say_with_the_framing_limits(
    tmp_path: Path,
) -> None:
    from functions.local import framing
    from functions.local.server import THREADS, create

    settings = Settings(data_dir=str(tmp_path / "a" / "b"), port=0, max_body_bytes=32 * 2**20)
    server = create(settings)
    try:
        adj = server.adj
        assert server.socket.getsockname()[0] == "127.0.0.1"
        assert (adj.threads, adj.ident) == (THREADS, "lambda")
        assert (adj.connection_limit, adj.channel_timeout, adj.cleanup_interval) == (
            framing.CONNECTION_LIMIT,
            framing.CHANNEL_TIMEOUT,
            framing.CLEANUP_INTERVAL,
        )
        # waitress's own cap stays far above the app's, so the app's JSON 413 is what is seen
        assert adj.max_request_body_size == 4 * 32 * 2**20
        assert server.channel_class is framing.JsonErrorChannel
        assert (tmp_path / "a" / "b").is_dir()  # made, parents too
    finally:
        server.close()
    small = create(Settings(data_dir=str(tmp_path / "c"), port=0, max_body_bytes=1024))
    try:
        assert small.adj.max_request_body_size == 64 * 2**20
    finally:
        small.close()


def test_the_token_made_is_24_random_bytes_in_url_safe_text(tmp_path: Path) -> None:
    token = read_token(Settings(data_dir=str(tmp_path))).read_token
    assert token is not None
    assert len(token) == 32  # 24 bytes, base64url without padding
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_the_app_keeps_its_files_under_data_dir(tmp_path: Path) -> None:
    from functions.local.server import build_app

    app = build_app(Settings(data_dir=str(tmp_path / "d")))
    app.services.store().put("probe.json", b"{}")
    assert (tmp_path / "d" / "probe.json").read_bytes() == b"{}"


def test_a_setting_the_user_must_fix_is_one_line_on_stderr_and_exit_code_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from functions.local.server import main

    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("lambda: Config 'PORT' has an invalid value: ")
    assert captured.err.count("\n") == 1
    assert captured.out == ""


def test_the_retry_loop_thread_is_named_for_what_it_does(logs: Captured) -> None:
    job = FailingRetries()
    assert retry_loop(job, logs.logger, 0.01).name == "outbox-retry"
    assert job.third.wait(30)


def test_the_requeue_and_compact_commands_print_what_they_did(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    import sys
    from datetime import UTC, datetime

    from functions.core.events import Envelope, uuid7
    from functions.core.outbox import Attempts, Outbox, Record
    from functions.local import compact, requeue
    from functions.local.store import FileBlobStore

    store, now = FileBlobStore(tmp_path), datetime.now(UTC)
    record = Record(Envelope(uuid7(now), "s", now, "local", {}), now, {"http://p": Attempts(11)})
    Outbox(store, 12, (1.0, 1.0)).settle(record, {"http://p": "refused"}, now)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    requeue.main()
    assert json.loads(capsys.readouterr().out) == {"requeued": 1}
    monkeypatch.setattr(sys, "argv", ["compact", "--lookback-hours", "2"])
    compact.main()
    assert json.loads(capsys.readouterr().out) == {
        "partitions": 0,
        "compacted": 0,
        "events": 0,
        "failed": 0,
    }


@pytest.mark.parametrize("damage", ["folder", "empty", "binary"])
def test_a_damaged_read_token_file_stops_the_start_with_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    # GIVEN DATA_DIR/read-token as a folder, an empty file or bytes that are no text (before:
    # a traceback from the folder, and an empty token that disabled reading)
    path = tmp_path / READ_TOKEN_FILE
    if damage == "folder":
        path.mkdir()
    else:
        path.write_bytes(b"" if damage == "empty" else b"\xff\xfe\x00")
    with pytest.raises(SystemExit) as exited:
        read_token(Settings(data_dir=str(tmp_path)))
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"lambda: {path} ")
    assert err.count("\n") == 1
