"""The archive's endpoint rules (stacks/boto_models.py trim_rules) give every answer botocore's
own rules give, for the parameters the function's clients pin (functions/aws/sdk.py), judged by
botocore's own rule engine (docs/deploying.md, cold starts)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import botocore.session
import pytest
from botocore.endpoint_provider import EndpointProvider
from botocore.exceptions import EndpointResolutionError

from functions.aws import sdk
from stacks.boto_models import trim_rules

LOADER = botocore.session.get_session().get_component("data_loader")
PARTITIONS = LOADER.load_data("partitions")
REGIONS = (
    "us-east-1",
    "us-west-2",
    "eu-central-1",
    "ap-southeast-3",
    "cn-north-1",
    "us-gov-west-1",
    "us-iso-east-1",
    "aws-global",
    "not a region",
    None,
)
BUCKETS = (
    None,
    "events-bucket",
    "my.dotted.bucket",
    "Not_A_Host_Label",
    "ab",
    "events--usw2-az1--x-s3",
    "arn:aws:s3:us-west-2:123456789012:accesspoint:reports",
    "arn:aws:s3::123456789012:accesspoint:mfzwi23gnjvgw.mrap",
    "arn:aws:s3-outposts:us-west-2:123456789012:outpost:op-01234567890123456:accesspoint:ap",
    "arn:aws:s3-object-lambda:us-east-1:123456789012:accesspoint/banner",
    "arn:aws:sqs:us-west-2:123456789012:not-a-bucket",
)
ENDPOINTS = (None, "http://127.0.0.1:5000", "https://storage.example.com/base")


def rules(service: str) -> Any:
    return LOADER.load_service_model(service, "endpoint-rule-set-1")


def answer(provider: EndpointProvider, params: dict[str, Any]) -> Any:
    try:
        found = provider.resolve_endpoint(**params)
    except EndpointResolutionError as exc:
        return ("error", str(exc))
    return (found.url, json.dumps(found.properties, sort_keys=True), found.headers)


def same_answers(service: str, grid: list[dict[str, Any]]) -> None:
    full = EndpointProvider(rules(service), PARTITIONS)
    trimmed = EndpointProvider(trim_rules(rules(service), sdk.PINNED_RULE_PARAMETERS), PARTITIONS)
    declared = rules(service)["parameters"]
    pinned = {k: v for k, v in sdk.PINNED_RULE_PARAMETERS.items() if k in declared}
    errors = 0
    for params in grid:
        given = {k: v for k, v in {**params, **pinned}.items() if v is not None}
        expected = answer(full, given)
        errors += expected[0] == "error"
        assert answer(trimmed, given) == expected, given
    assert 0 < errors < len(grid)  # the grid reaches both endpoints and refusals


def test_the_trimmed_s3_rules_answer_as_botocores_own() -> None:
    flags = (None, False, True)
    grid = [
        {
            "Region": region,
            "Bucket": bucket,
            "Endpoint": endpoint,
            "ForcePathStyle": path_style,
            "UseGlobalEndpoint": global_endpoint,
            "UseArnRegion": arn_region,
            "Key": "events/a.json",
        }
        for region, bucket, endpoint, path_style, global_endpoint, arn_region in itertools.product(
            REGIONS, BUCKETS, ENDPOINTS, (False, True), (False, True), flags
        )
    ]
    # The switches some operations or settings set, each tried on its own.
    extra = (
        "DisableMultiRegionAccessPoints",
        "DisableAccessPoints",
        "UseObjectLambdaEndpoint",
        "UseS3ExpressControlEndpoint",
        "DisableS3ExpressSessionAuth",
    )
    for name, region, bucket in itertools.product(extra, REGIONS[:6], BUCKETS):
        grid.append({"Region": region, "Bucket": bucket, name: True})
    same_answers("s3", grid)


def test_the_trimmed_secrets_manager_rules_answer_as_botocores_own() -> None:
    grid = [{"Region": r, "Endpoint": e} for r in REGIONS for e in ENDPOINTS]
    same_answers("secretsmanager", grid)


def test_trimming_drops_the_branches_the_pinned_parameters_rule_out() -> None:
    full, trimmed = rules("s3"), trim_rules(rules("s3"), sdk.PINNED_RULE_PARAMETERS)
    text = json.dumps(trimmed, separators=(",", ":"))
    assert len(text) < len(json.dumps(full, separators=(",", ":"))) / 2
    assert '{"ref":"UseFIPS"},true]' not in text  # no branch for FIPS endpoints is left
    assert '{"ref":"UseFIPS"},true]' in json.dumps(full, separators=(",", ":"))
    assert trimmed["parameters"].keys() == full["parameters"].keys()


def test_trimming_keeps_the_rules_in_order_and_stops_at_one_that_always_matches() -> None:
    fips = {"fn": "booleanEquals", "argv": [{"ref": "UseFIPS"}, True]}
    not_fips = {"fn": "not", "argv": [fips]}
    endpoint = {"type": "endpoint", "endpoint": {"url": "https://a"}}
    ruleset = {
        "version": "1.0",
        "parameters": {"UseFIPS": {"type": "boolean", "required": True, "default": False}},
        "rules": [
            {**endpoint, "conditions": [fips]},
            {**endpoint, "conditions": [not_fips], "documentation": "regular"},
            {"type": "error", "conditions": [], "error": "never reached"},
        ],
    }
    trimmed = trim_rules(ruleset, {"UseFIPS": False, "NotAParameter": True})
    assert trimmed["rules"] == [{**endpoint, "conditions": []}]


def test_a_tree_that_loses_every_rule_is_refused() -> None:
    fips = {"fn": "booleanEquals", "argv": [{"ref": "UseFIPS"}, True]}
    ruleset = {
        "version": "1.0",
        "parameters": {"UseFIPS": {"type": "boolean", "required": True, "default": False}},
        "rules": [
            {
                "type": "tree",
                "conditions": [],
                "rules": [{"type": "error", "conditions": [fips], "error": "fips"}],
            }
        ],
    }
    with pytest.raises(ValueError, match="lost every rule"):
        trim_rules(ruleset, {"UseFIPS": False})
