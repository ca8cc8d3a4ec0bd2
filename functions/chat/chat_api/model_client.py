"""The chat model: Gemini (or any OpenAI-compatible server) through the `openai` SDK.

Gemini answers 503 "overloaded" and 429 often and briefly, so a call that fails that way (or whose
connection drops, or whose answer is not a chat completion) is tried again after a jittered,
growing pause, as long as the turn's deadline leaves time for another attempt. A 429 that asks for
a longer wait than a turn can give goes back to the client with its Retry-After.
"""

import random
import time
from functools import cache
from typing import Any

import openai
from fastapi import HTTPException, status
from openai.types.chat import ChatCompletion

from todo_common import snapstart
from todo_common.errors import RETRY_AFTER
from todo_common.observability import count, logger
from todo_common.settings import get_settings

MAX_ATTEMPTS = 4
BACKOFF_BASE_SECONDS = 0.25  # the first pause is up to this long, then up to twice as long each time
LONGEST_RETRY_AFTER_SECONDS = 5  # a 429 asking for more than this is the client's to wait out
_TRANSIENT = (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError)


class InvalidModelResponse(Exception):
    """The model's server answered 200 with something that is not a chat completion."""


@cache
def model_client() -> openai.OpenAI | None:
    """One client per execution environment; None when no API key is configured.

    No retries inside the SDK: `create_completion` retries within the turn's deadline instead.
    """
    settings = get_settings()
    if settings.GEMINI_API_KEY is None:
        return None
    return openai.OpenAI(
        api_key=settings.GEMINI_API_KEY.get_secret_value(),
        base_url=settings.LLM_BASE_URL,
        max_retries=0,
        timeout=settings.CHAT_TIMEOUT_SECONDS,
    )


snapstart.after_restore(model_client.cache_clear)  # its API key is a secret the settings may re-read


def create_completion(client: openai.OpenAI, *, deadline: float, time_to_keep: float, **request: Any) -> ChatCompletion:
    """A chat completion, tried again after transient failures while the deadline leaves `time_to_keep`
    seconds for another attempt (the attempt that fails last raises)."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return _checked(_create(client, deadline, request))
        except (*_TRANSIENT, InvalidModelResponse) as exc:
            pause = _pause_before_retry(exc, attempt)
            if attempt == MAX_ATTEMPTS or pause is None or time.monotonic() + pause + time_to_keep > deadline:
                raise
            count("ModelRetries")
            logger.info("Model call failed; trying again", extra={"error": type(exc).__name__, "pause": pause})
            time.sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover - the last attempt returns or raises


def _create(client: openai.OpenAI, deadline: float, request: dict[str, Any]) -> object:
    try:
        return client.chat.completions.create(**request, timeout=deadline - time.monotonic())
    except ValueError as exc:  # a body that is not JSON, or not of the shape the SDK expects
        raise InvalidModelResponse("the answer is not a chat completion") from exc


def _checked(completion: object) -> ChatCompletion:
    """The completion, if it has what the loop reads. The SDK does not validate what a 200 carried:
    it returns an HTML page as a string, and a JSON object of another shape as a ChatCompletion."""
    choices = getattr(completion, "choices", None)
    message = getattr(choices[0], "message", None) if isinstance(choices, list) and choices else None
    calls = getattr(message, "tool_calls", None)
    valid = (
        isinstance(completion, ChatCompletion)
        and message is not None
        and isinstance(getattr(message, "content", None), str | None)
        and (calls is None or (isinstance(calls, list) and all(_is_function_call(call) for call in calls)))
    )
    if not valid:
        raise InvalidModelResponse("the answer is not a chat completion")
    return completion  # type: ignore[return-value]  # checked just above


def _is_function_call(call: object) -> bool:
    function = getattr(call, "function", None)
    return isinstance(getattr(function, "name", None), str) and isinstance(
        getattr(function, "arguments", None), str | None
    )


def _pause_before_retry(exc: Exception, attempt: int) -> float | None:
    """Seconds to wait before the next attempt; None when the failure should go to the client now."""
    if isinstance(exc, openai.RateLimitError):
        retry_after = exc.response.headers.get("retry-after", "")
        if retry_after.isdigit():
            return float(retry_after) if int(retry_after) <= LONGEST_RETRY_AFTER_SECONDS else None
    return random.uniform(0, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))  # noqa: S311 - jitter, not a secret


def model_failure(exc: openai.OpenAIError | InvalidModelResponse) -> HTTPException:
    """The answer for a failed model call: 429, 503 or 502, never a 500, never the provider's words."""
    status_code = getattr(exc, "status_code", None)
    count("ModelErrors")
    logger.warning("Model call failed", extra={"error": type(exc).__name__, "model_status": status_code})
    if isinstance(exc, InvalidModelResponse):
        return HTTPException(status.HTTP_502_BAD_GATEWAY, "The model provider sent an answer that is not valid")
    if isinstance(exc, openai.RateLimitError):
        retry_after = exc.response.headers.get("retry-after")
        headers = {"Retry-After": retry_after} if retry_after and retry_after.isdigit() else None
        return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "The model is rate-limited, try again later", headers)
    if isinstance(exc, openai.APITimeoutError):
        return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "The model did not answer in time", RETRY_AFTER)
    if isinstance(exc, openai.APIConnectionError):
        return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "The model could not be reached", RETRY_AFTER)
    if isinstance(exc, openai.InternalServerError):
        return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "The model is overloaded or unavailable", RETRY_AFTER)
    rejected_key = isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError) or (
        isinstance(exc, openai.BadRequestError) and "api key" in _provider_message(exc).lower()
    )
    if rejected_key:
        return HTTPException(status.HTTP_502_BAD_GATEWAY, "The model provider rejected the API key")
    return HTTPException(status.HTTP_502_BAD_GATEWAY, "The model provider rejected the request")


def _provider_message(exc: openai.APIStatusError) -> str:
    """The provider's own error message. Gemini sends its error bodies as a list
    (`[{"error": {...}}]`), which the SDK does not unpack: its message is then only the status."""
    body = exc.body[0] if isinstance(exc.body, list) and exc.body else exc.body
    if isinstance(body, dict):
        body = body.get("error", body)
    return str(body.get("message", "")) if isinstance(body, dict) else ""
