"""The chat model: Gemini (or any OpenAI-compatible server) through the `openai` SDK."""

from functools import cache

import openai
from fastapi import HTTPException, status

from todo_common.observability import count, logger
from todo_common.settings import get_settings


@cache
def model_client() -> openai.OpenAI | None:
    """One client per execution environment; None when no API key is configured.

    No retries inside the SDK: a retry would spend the time the whole turn has (API Gateway gives
    up after 30 s); 429 and 503 go back to the caller, with Retry-After when the model gave one.
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


def model_failure(exc: openai.OpenAIError) -> HTTPException:
    """The answer for a failed model call: 429, 503 or 502, never a 500, never the provider's words."""
    status_code = getattr(exc, "status_code", None)
    count("ModelErrors")
    logger.warning("Model call failed", extra={"error": type(exc).__name__, "model_status": status_code})
    if isinstance(exc, openai.RateLimitError):
        retry_after = exc.response.headers.get("retry-after")
        headers = {"Retry-After": retry_after} if retry_after and retry_after.isdigit() else None
        return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, "The model is rate-limited, try again later", headers)
    if isinstance(exc, openai.APITimeoutError):
        return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "The model did not answer in time")
    if isinstance(exc, openai.APIConnectionError):
        return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "The model could not be reached")
    if isinstance(exc, openai.InternalServerError):
        return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "The model is overloaded or unavailable")
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
