"""The event model: ids, keys, and the property that no source escapes its prefix."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.core.errors import BadRequest
from functions.core.events import (
    Envelope,
    format_time,
    parse_time,
    partition_prefix,
    uuid7,
    validate_source,
)
from functions.core.partitions import index_prefix
from tests.conftest import CoreClient, MakeClient
from tests.support.fakes import MemoryBlobStore

MOMENT = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def test_uuid7_carries_the_millisecond_timestamp_version_and_variant() -> None:
    value = uuid.UUID(uuid7(MOMENT))
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert value.int >> 80 == int(MOMENT.timestamp() * 1000)


def test_envelope_key_is_the_hive_path_in_utc() -> None:
    envelope = Envelope("id-1", "github", MOMENT, "aws", {})
    assert envelope.key == "events/source=github/year=2026/month=01/day=02/hour=03/id-1.json"


def test_envelope_round_trips_through_its_dict() -> None:
    event_id = uuid7(MOMENT)
    envelope = Envelope(event_id, "s", MOMENT, "gcp", [1], {"a": "b"}, "k")
    assert Envelope.from_dict(envelope.to_dict()) == envelope


@given(st.text(max_size=80))
def test_no_source_string_makes_a_key_outside_its_prefix(source: str) -> None:
    try:
        validate_source(source)
    except BadRequest:
        return
    key = Envelope(uuid7(MOMENT), source, MOMENT, "local", {}).key
    assert key.startswith(f"events/source={source}/year=2026/")
    assert ".." not in key.split("/")
    assert len(key.split("/")) == 7


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80))
def test_no_webhook_path_stores_anything_outside_events_source(source: str) -> None:
    from functions.core.app import App
    from functions.core.services import Services
    from functions.core.settings import Settings

    store = MemoryBlobStore()
    client = CoreClient(App(Services(Settings(), "local", lambda: store)))
    status, _, _ = client.request(
        "POST", f"/webhook/{source}", b"{}", {"content-type": "application/json"}
    )
    assert status in (201, 400, 404)
    if status == 201:
        (key,) = [k for k in store.objects if not k.startswith("index/")]
        assert key.startswith(f"events/source={source}/")
        (index,) = [k for k in store.objects if k.startswith("index/")]
        assert index.endswith(f"/source={source}")
        assert "/" not in source
        assert source not in ("", ".", "..")
    else:
        assert store.objects == {}


@pytest.mark.parametrize("source", ["github", "a", "A-b_9", "x" * 64])
def test_valid_sources_are_accepted(make_client: MakeClient, source: str) -> None:
    assert make_client().webhook(source, {})[0] == 201


@given(st.datetimes(min_value=datetime(1000, 1, 1), timezones=st.just(UTC)))
def test_keys_and_times_are_the_strftime_forms_they_replace(moment: datetime) -> None:
    # The hot path formats fields by hand; strftime is the specification it must match.
    assert partition_prefix("s", moment) == moment.strftime(
        "events/source=s/year=%Y/month=%m/day=%d/hour=%H/"
    )
    assert partition_prefix("s", moment, hour=False) == moment.strftime(
        "events/source=s/year=%Y/month=%m/day=%d/"
    )
    assert index_prefix(moment) == moment.strftime("index/hour=%Y-%m-%dT%H/")
    assert format_time(moment) == moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert parse_time(format_time(moment)) == moment


def test_a_time_in_another_zone_is_written_in_utc() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=-5)))
    assert format_time(moment) == "2026-01-02T08:04:05.000006Z"
