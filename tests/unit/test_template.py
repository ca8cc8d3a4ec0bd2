"""template.yaml, the sample events and the code agree with each other."""

import importlib
import json
from pathlib import Path

import pytest

from localdev import ROOT
from localdev.events import EVENTS, load_event
from localdev.routing import load_routes, load_template, resolve

ROUTES = load_routes()


@pytest.mark.parametrize("function", sorted({route.function for route in ROUTES}))
def test_template_routes_exactly_what_each_function_serves(function: str) -> None:
    [handler] = {route.handler for route in ROUTES if route.function == function}
    app = importlib.import_module(handler.rsplit(".", 1)[0]).app

    served = {(method.upper(), path) for path, operations in app.openapi()["paths"].items() for method in operations}
    routed = {(route.method, route.path) for route in ROUTES if route.function == function}

    assert routed == served


def test_template_handlers_and_code_uris_exist() -> None:
    resources = load_template()["Resources"]
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        module, attribute = props["Handler"].rsplit(".", 1)
        assert (ROOT / props["CodeUri"] / (module.replace(".", "/") + ".py")).is_file(), name
        assert callable(getattr(importlib.import_module(module), attribute)), name


def test_template_declares_the_http_api_and_the_common_layer() -> None:
    resources = load_template()["Resources"]

    assert resources["HttpApi"]["Type"] == "AWS::Serverless::HttpApi"
    assert "StageName" not in resources["HttpApi"]["Properties"]  # the $default stage
    layer = resources["CommonLayer"]
    assert (ROOT / layer["Properties"]["ContentUri"] / "todo_common" / "__init__.py").is_file()


@pytest.mark.parametrize(
    ("method", "path", "function", "params"),
    [
        ("GET", "/", "TasksFunction", {}),
        ("GET", "/api/u1/tasks", "TasksFunction", {"user_id": "u1"}),
        ("PATCH", "/api/u1/tasks/7/complete", "TasksFunction", {"user_id": "u1", "task_id": "7"}),
        ("PATCH", "/api/u1/tasks/7", "TasksFunction", {"user_id": "u1", "task_id": "7"}),
        ("POST", "/api/auth/login", "AuthFunction", {}),
        ("GET", "/api/auth/me", "AuthFunction", {}),
        ("POST", "/mcp", "McpFunction", {}),
        ("GET", "/.well-known/oauth-protected-resource/mcp", "McpFunction", {}),
    ],
)
def test_resolve_picks_the_route_api_gateway_would(
    method: str, path: str, function: str, params: dict[str, str]
) -> None:
    resolved = resolve(ROUTES, method, path)

    assert resolved is not None
    assert (resolved[0].function, resolved[1]) == (function, params)


@pytest.mark.parametrize(("method", "path"), [("POST", "/health"), ("GET", "/api/u1"), ("GET", "/api/u1/tasks/7/x")])
def test_resolve_finds_no_route_for_unrouted_requests(method: str, path: str) -> None:
    assert resolve(ROUTES, method, path) is None


@pytest.mark.parametrize("path", sorted(EVENTS.glob("*.json")), ids=lambda p: p.stem)
def test_sample_event_is_a_routed_http_api_v2_event(path: Path) -> None:
    event = load_event(path.stem)

    assert event["version"] == "2.0"
    assert event["requestContext"]["stage"] == "$default"
    method, route_path = event["routeKey"].split(" ", 1)
    assert (method, route_path) in {(r.method, r.path) for r in ROUTES}
    resolved = resolve(ROUTES, method, event["rawPath"])
    assert resolved is not None
    assert resolved[1] == event.get("pathParameters", {})
    if "body" in event:
        json.loads(event["body"])


def test_the_lambda_runtime_is_the_python_the_build_compiles_for() -> None:
    """The build compiles bytecode with .python-version's Python; a runtime of another version would
    ignore every .pyc and compile each module at every cold start."""
    runtime = load_template()["Globals"]["Function"]["Runtime"]

    assert runtime == f"python{(ROOT / '.python-version').read_text().strip()}"
