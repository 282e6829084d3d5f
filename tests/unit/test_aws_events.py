"""Lambda's payload formats, from the stored AWS events, into the core's Request and back."""

from __future__ import annotations

import json

import pytest

from functions.aws.events import PayloadV1, PayloadV2, translation_for
from functions.core.http import json_response
from tests.support.payloads import load_event


def test_function_url_get_keeps_path_and_query() -> None:
    event = load_event("aws", "function_url_get_query")
    request = translation_for(event).to_request(event)
    assert (request.method, request.path) == ("GET", "/query")
    assert request.query == {"source": ("github",), "date": ("2026-11-23",), "limit": ("5",)}
    assert request.header("user-agent") == "curl/8.5.0"


def test_function_url_post_decodes_a_base64_body() -> None:
    event = load_event("aws", "function_url_post_base64")
    request = translation_for(event).to_request(event)
    assert (request.method, request.path) == ("POST", "/webhook/github")
    assert json.loads(request.body) == {"ref": "refs/heads/main", "size": 3}
    assert request.header("X-GitHub-Delivery") == "72d3162e-cc78-11e3-81ab-4c9367dc0958"


def test_http_api_v2_strips_a_named_stage_from_the_raw_path() -> None:
    event = load_event("aws", "http_api_v2_post_plain")
    request = translation_for(event).to_request(event)
    assert request.path == "/webhook/stripe"
    assert json.loads(request.body)["type"] == "charge.succeeded"
    assert request.header("content-type") == "application/json; charset=utf-8"


def test_v2_repeated_query_parameters_keep_every_value() -> None:
    event = load_event("aws", "function_url_get_query")
    event["rawQueryString"] = "source=a&source=b&date=2026-11-23"
    assert translation_for(event).to_request(event).query["source"] == ("a", "b")


def test_v2_raw_path_is_percent_decoded() -> None:
    event = load_event("aws", "function_url_post_base64")
    event["rawPath"] = "/webhook/a%2Fb"
    assert translation_for(event).to_request(event).path == "/webhook/a/b"


def test_rest_v1_get_uses_multi_value_query_and_leaves_the_stage_out() -> None:
    event = load_event("aws", "rest_v1_get_query")
    translation = translation_for(event)
    assert isinstance(translation, PayloadV1)
    request = translation.to_request(event)
    assert (request.method, request.path) == ("GET", "/query")
    assert request.query["limit"] == ("5",)
    assert request.header("host") == "70ixmpl4fl.execute-api.us-east-2.amazonaws.com"


def test_rest_v1_joins_multi_value_headers() -> None:
    event = load_event("aws", "rest_v1_get_query")
    event["multiValueHeaders"]["Accept"] = ["application/json", "text/plain"]
    request = translation_for(event).to_request(event)
    assert request.header("accept") == "application/json, text/plain"


@pytest.mark.parametrize("name", ["rest_v1_post_base64", "rest_v1_post_plain"])
def test_rest_v1_post_bodies(name: str) -> None:
    event = load_event("aws", name)
    request = translation_for(event).to_request(event)
    assert request.method == "POST"
    assert request.path.startswith("/webhook/")
    assert isinstance(json.loads(request.body), dict)


def test_http_api_on_payload_1_0_strips_a_named_stage() -> None:
    event = load_event("aws", "rest_v1_post_plain")
    event["path"] = "/Prod/webhook/github"
    assert translation_for(event).to_request(event).path == "/webhook/github"


def test_responses_are_plain_text_json_with_headers() -> None:
    response = json_response(201, {"ok": True}, {"x-request-id": "r"})
    for translation in (PayloadV2(), PayloadV1()):
        result = translation.to_response(response)
        assert result["statusCode"] == 201
        assert result["isBase64Encoded"] is False
        assert json.loads(result["body"]) == {"ok": True}
        assert result["headers"]["content-type"] == "application/json"


def test_v2_keeps_a_blank_query_value_as_an_empty_string() -> None:
    event = load_event("aws", "function_url_get_query")
    event["rawQueryString"] = "source=a&hour=&limit=5"
    assert translation_for(event).to_request(event).query == {
        "source": ("a",),
        "hour": ("",),
        "limit": ("5",),
    }


def test_v2_without_a_query_string_has_an_empty_query() -> None:
    event = load_event("aws", "function_url_get_query")
    event["rawQueryString"] = ""
    assert translation_for(event).to_request(event).query == {}


def test_v1_takes_repeated_values_from_the_multi_value_map_over_the_single_one() -> None:
    event = load_event("aws", "rest_v1_get_query")
    event["multiValueQueryStringParameters"] = {"source": ["a", "b"], "hour": [""]}
    event["queryStringParameters"] = {"source": "b", "hour": ""}
    assert translation_for(event).to_request(event).query == {"source": ("a", "b"), "hour": ("",)}


def test_v1_without_the_multi_value_map_uses_the_single_one() -> None:
    event = load_event("aws", "rest_v1_get_query")
    event["multiValueQueryStringParameters"] = None
    event["queryStringParameters"] = {"source": "a", "hour": ""}
    assert translation_for(event).to_request(event).query == {"source": ("a",), "hour": ("",)}


def test_v1_without_any_query_has_an_empty_query() -> None:
    event = load_event("aws", "rest_v1_get_query")
    event["multiValueQueryStringParameters"] = None
    event["queryStringParameters"] = None
    assert translation_for(event).to_request(event).query == {}


@pytest.mark.parametrize(
    ("path", "stage", "expected"),
    [
        ("/Prod/webhook/x", "Prod", "/webhook/x"),
        ("/Prod", "Prod", "/"),
        ("/Production/webhook/x", "Prod", "/Production/webhook/x"),
        ("/webhook/x", "$default", "/webhook/x"),
        ("/$default/webhook/x", "$default", "/$default/webhook/x"),
        ("/webhook/x", None, "/webhook/x"),
    ],
)
def test_only_a_named_stage_that_is_the_whole_first_segment_is_stripped(
    path: str, stage: str | None, expected: str
) -> None:
    event = load_event("aws", "http_api_v2_post_plain")
    event["rawPath"] = path
    event["requestContext"]["stage"] = stage
    assert translation_for(event).to_request(event).path == expected


def test_both_payloads_upper_case_the_method_and_default_to_get() -> None:
    v2 = load_event("aws", "function_url_get_query")
    v2["requestContext"]["http"]["method"] = "post"
    assert translation_for(v2).to_request(v2).method == "POST"
    del v2["requestContext"]["http"]["method"]
    assert translation_for(v2).to_request(v2).method == "GET"
    v1 = load_event("aws", "rest_v1_get_query")
    v1["httpMethod"] = "delete"
    assert translation_for(v1).to_request(v1).method == "DELETE"
    del v1["httpMethod"]
    assert translation_for(v1).to_request(v1).method == "GET"


def test_a_missing_body_is_empty_and_a_plain_body_is_taken_as_text() -> None:
    event = load_event("aws", "function_url_get_query")
    event.pop("body", None)
    event["isBase64Encoded"] = False
    assert translation_for(event).to_request(event).body == b""
    event["body"] = '{"caf\u00e9": 1}'
    assert translation_for(event).to_request(event).body == '{"caf\u00e9": 1}'.encode()


def test_a_response_is_the_payloads_status_headers_and_text_body() -> None:
    response = json_response(404, {"error": {"code": "not_found"}})
    for translation in (PayloadV1(), PayloadV2()):
        event = translation.to_response(response)
        assert event["statusCode"] == 404
        assert event["headers"]["content-type"] == "application/json"
        assert json.loads(event["body"]) == {"error": {"code": "not_found"}}
        assert event["isBase64Encoded"] is False


def test_v1_without_multi_value_headers_uses_the_single_header_map() -> None:
    event = load_event("aws", "rest_v1_get_query")
    event["multiValueHeaders"] = None
    event["headers"] = {"X-Thing": "1", "Content-Type": "application/json"}
    request = translation_for(event).to_request(event)
    assert (request.header("x-thing"), request.header("content-type")) == ("1", "application/json")
    event["headers"] = None
    assert translation_for(event).to_request(event).headers == {}


def test_v2_without_a_raw_path_is_the_root() -> None:
    event = load_event("aws", "function_url_get_query")
    del event["rawPath"]
    assert translation_for(event).to_request(event).path == "/"
