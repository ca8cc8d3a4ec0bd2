"""Calling the Lambda handlers the way API Gateway does: with HTTP API payload v2.0 events.

Events are built from the sample events in `events/` (the ones `sam local invoke` uses) and sent to
the handler of the function that template.yaml routes the request to.
"""

import base64
import importlib
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from localdev import ROOT
from localdev.routing import Route, load_routes, resolve

EVENTS = ROOT / "events"
ROUTES = load_routes()


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


def _sample_for(route_key: str) -> dict[str, Any]:
    for path in sorted(EVENTS.glob("*.json")):
        event = load_event(path.stem)
        if event["routeKey"] == route_key:
            return event
    return load_event("list_tasks")


@dataclass
class LambdaContext:
    """Stands in for the Lambda runtime's context object."""

    function_name: str = "todo-api-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:todo-api-test"
    aws_request_id: str = "0b6a8b7e-5d2f-4f0e-9a6b-3c1d2e3f4a5b"
    remaining_millis: int = 10_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str
    raw: dict[str, Any] = field(repr=False)

    def json(self) -> Any:
        return json.loads(self.body)


def http_event(
    method: str,
    path: str,
    *,
    token: str | None = None,
    json_body: Any = None,
    body: str | bytes | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], Route | None]:
    """An HTTP API v2.0 event for this request, and the template route it matches (None: no route)."""
    resolved = resolve(ROUTES, method, path)
    route_key = f"{resolved[0].method} {resolved[0].path}" if resolved else "$default"
    event = _sample_for(route_key)
    event["routeKey"] = event["requestContext"]["routeKey"] = route_key
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    if resolved and resolved[1]:
        event["pathParameters"] = resolved[1]
    else:
        event.pop("pathParameters", None)
    query = {k: v for k, v in (query or {}).items() if v is not None}
    event["rawQueryString"] = urlencode(query, doseq=True, quote_via=quote)  # a list: the parameter repeated
    if query:
        # API Gateway joins a repeated parameter's values with commas here (rawQueryString keeps them apart).
        event["queryStringParameters"] = {
            k: ",".join(map(str, v)) if isinstance(v, list) else str(v) for k, v in query.items()
        }
    else:
        event.pop("queryStringParameters", None)
    request_headers = {k: v for k, v in event["headers"].items() if k not in ("authorization", "content-type")}
    request_headers.pop("content-length", None)
    if token is not None:
        request_headers["authorization"] = f"Bearer {token}"
    if json_body is not None:
        body = json.dumps(json_body)
        request_headers["content-type"] = "application/json"
    if isinstance(body, bytes):
        event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
        request_headers["content-length"] = str(len(body))
    elif body is not None:
        event["body"], event["isBase64Encoded"] = body, False
        request_headers["content-length"] = str(len(body.encode("utf-8", "surrogatepass")))
    else:
        event.pop("body", None)
        event["isBase64Encoded"] = False
    request_headers.update({k.lower(): v for k, v in (headers or {}).items()})
    event["headers"] = request_headers
    return event, resolved[0] if resolved else None


def handler_for(route: Route) -> Any:
    module, attribute = route.handler.rsplit(".", 1)
    return getattr(importlib.import_module(module), attribute)


def invoke(event: dict[str, Any], route: Route, context: LambdaContext | None = None) -> Response:
    raw = handler_for(route)(event, context or LambdaContext())
    body = raw.get("body") or ""
    if raw.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return Response(raw["statusCode"], {k.lower(): v for k, v in raw.get("headers", {}).items()}, body, raw)


def call(method: str, path: str, **kwargs: Any) -> Response:
    """Send one request through API Gateway's routing (per template.yaml) to a Lambda handler."""
    event, route = http_event(method, path, **kwargs)
    if route is None:  # API Gateway answers unrouted requests itself
        return Response(404, {"content-type": "application/json"}, '{"message":"Not Found"}', {})
    return invoke(event, route)
