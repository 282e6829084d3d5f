"""The route table's templates and matching (functions/core/routes.py)."""

from __future__ import annotations

import pytest

from functions.core.errors import MethodNotAllowed, RouteNotFound
from functions.core.handlers import Handlers
from functions.core.routes import ROUTES, Route, Router, split_template


def test_a_parameter_takes_the_rest_of_the_path() -> None:
    route = Route("POST", "/webhook/{source}", Handlers.webhook)
    assert route.match("/webhook/github") == {"source": "github"}
    assert route.match("/webhook/a/b") == {"source": "a/b"}  # refused by the handler: 400
    assert route.match("/webhook/") == {"source": ""}
    assert route.match("/webhooks/github") is None
    assert route.match("/webhook") is None


def test_a_plain_template_matches_its_path_only() -> None:
    route = Route("GET", "/health", Handlers.health)
    assert route.match("/health") == {}
    assert route.match("/health/") is None
    assert route.match("/healthz") is None


@pytest.mark.parametrize(
    "template", ["/a/{x}/b", "/a/{x}{y}", "/a/{x", "/a/{1x}", "/a/}x", "/{x}/{y}"]
)
def test_a_template_with_a_parameter_anywhere_but_the_end_is_refused(template: str) -> None:
    with pytest.raises(ValueError, match="route"):
        split_template(template)
    with pytest.raises(ValueError, match="route"):
        Router((Route("GET", template, Handlers.health),))


def test_the_table_routes_by_method_and_path() -> None:
    router = Router()
    route, params = router.match("POST", "/webhook/stripe")
    assert (route.endpoint, params) == (Handlers.webhook, {"source": "stripe"})
    assert router.match("GET", "/internal/ids")[0].endpoint == Handlers.ids
    with pytest.raises(MethodNotAllowed) as refused:
        router.match("DELETE", "/health")
    assert refused.value.allow == ("GET", "HEAD")
    with pytest.raises(RouteNotFound):
        router.match("GET", "/nowhere")
    assert split_template("/webhook/{source}") == ("/webhook/", "source")
    assert [split_template(r.template)[1] for r in ROUTES].count(None) == len(ROUTES) - 1


def test_a_parameter_takes_any_character_a_path_can_carry() -> None:
    """A decoded newline or '/' stays in the parameter, so the handler refuses the source
    with its 400 (the compiled `.*` stopped at a newline and answered 404)."""
    router = Router()
    assert router.match("POST", "/webhook/a\nb")[1] == {"source": "a\nb"}
    assert router.match("POST", "/webhook/a/b")[1] == {"source": "a/b"}
    with pytest.raises(MethodNotAllowed):
        router.match("GET", "/webhook/a\n")
