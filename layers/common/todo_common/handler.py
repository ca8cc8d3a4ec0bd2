"""Wraps a FastAPI app as a Lambda handler for API Gateway HTTP API (payload v2.0) events."""

from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from fastapi import FastAPI
from mangum import Mangum

from todo_common import snapstart
from todo_common.observability import logger, metrics, tracer

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def make_handler(app: FastAPI, warm_up: tuple[str, str]) -> LambdaHandler:
    """The Lambda handler of an app: Mangum (lifespan off: startup would otherwise run on every
    invocation) under Powertools.

    The correlation id is API Gateway's request id. The event is never logged: it carries the
    Authorization header and request bodies with passwords.

    `warm_up` is a request (method, path) that touches no database: under SnapStart it goes through
    the app before the snapshot, so that what its first request builds is in the snapshot.
    """
    adapter = Mangum(app, lifespan="off")
    snapstart.before_snapshot(lambda: adapter(_event(*warm_up), _WarmUpContext()))  # type: ignore[arg-type]

    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        response: dict[str, Any] = adapter(event, context)  # type: ignore[arg-type]
        http = event.get("requestContext", {}).get("http", {})
        logger.info(
            "Request handled",
            extra={"method": http.get("method"), "path": http.get("path"), "status": response.get("statusCode")},
        )
        return response

    traced = handler if tracer is None else tracer.capture_lambda_handler(capture_response=False)(handler)
    measured = metrics.log_metrics(capture_cold_start_metric=True)(traced)
    logged = logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False)
    return cast(LambdaHandler, logged(measured))  # the Powertools decorators are typed loosely


class _WarmUpContext:
    aws_request_id = "snapstart-warm-up"


def _event(method: str, path: str) -> dict[str, Any]:
    """A minimal API Gateway HTTP API (v2.0) event, without credentials."""
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "localhost"},
        "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"}},
        "isBase64Encoded": False,
    }
