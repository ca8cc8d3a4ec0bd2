"""Chat with the task assistant, and the conversation history. (Async routes: see tasks_api.routes.)"""

import time
from collections.abc import Callable
from typing import Annotated, Any

import openai
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, Field, StringConstraints
from sqlmodel import Session, SQLModel

from chat_api import conversations
from chat_api.loop import ToolRun, TurnTimedOut, run_turn
from chat_api.model_client import InvalidModelResponse, model_client, model_failure
from todo_common import idempotency
from todo_common.db import SessionDep
from todo_common.errors import (
    DATABASE_UNAVAILABLE,
    DATABASE_UNAVAILABLE_DETAIL,
    INTERNAL_ERROR_DETAIL,
    RETRY_AFTER,
    documented,
)
from todo_common.idempotency import REPLAYED_HEADER, IdempotencyKeyHeader, keyed
from todo_common.models import BIGINT_MAX, StrictInput, TimeZoneName, UtcDatetime, clean_text
from todo_common.observability import logger
from todo_common.security import OWNER_RESPONSES, OwnerId
from todo_common.settings import Settings, get_settings

router = APIRouter(prefix="/api/{user_id}", tags=["chat"], responses=OWNER_RESPONSES)
ConversationId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: documented("No such conversation for this user")}
LAMBDA_SAFETY_SECONDS = 1.5  # time kept back to store the reply and answer


class ChatRequest(StrictInput):
    conversation_id: int | None = Field(default=None, ge=1, le=BIGINT_MAX)
    timezone: TimeZoneName | None = Field(
        default=None, description="The browser's IANA zone for this turn; else the user's preference, else UTC"
    )
    message: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), AfterValidator(clean_text)
    ]


class ToolCallPublic(SQLModel):
    name: str
    arguments: dict[str, Any]
    result: Any


class ChatResponse(SQLModel):
    conversation_id: int
    response: str
    tool_calls: list[ToolCallPublic]


class ConversationPublic(SQLModel):
    id: int
    title: str
    created_at: UtcDatetime
    updated_at: UtcDatetime


class MessagePublic(SQLModel):
    id: int
    role: str
    content: str | None
    tool_calls: list[ToolCallPublic] | None
    turn_id: int | None = Field(description="The user message that a tool call or reply answers")
    created_at: UtcDatetime


class ConversationDetail(ConversationPublic):
    messages: list[MessagePublic]


def _deadline(request: Request, settings: Settings) -> float:
    """When the turn must end: the chat timeout, or sooner if the Lambda has less time left."""
    budget = settings.CHAT_TIMEOUT_SECONDS
    context = request.scope.get("aws.context")
    if context is not None:
        budget = min(budget, context.get_remaining_time_in_millis() / 1000 - LAMBDA_SAFETY_SECONDS)
    return time.monotonic() + budget


@router.post(
    "/chat",
    response_model=ChatResponse,
    responses={
        200: {
            "headers": {REPLAYED_HEADER: {"description": "`true`: the response to an earlier request with this key"}}
        },
        404: {"description": "No such conversation for this user"},
        409: {"description": "A request with this Idempotency-Key is still running"},
        422: {"description": "Invalid input, or an Idempotency-Key used for another request"},
        429: {"description": "The model is rate-limited (Retry-After when it said)"},
        502: {"description": "The model provider rejected the key or the request, or answered nonsense"},
        503: {"description": "Chat is not configured, or the model is overloaded or too slow"},
    },
)
async def chat(
    owner: OwnerId,
    session: SessionDep,
    data: ChatRequest,
    request: Request,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    """One turn: the assistant reads the message, runs the tools it needs, and answers.

    With an `Idempotency-Key`, a retry gets the first response and nothing runs again. Once the
    turn has begun to change things, its response is kept whatever it is (a failure too, with the
    effects it had): send a new key to try again.
    """
    client = model_client()
    if client is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "chat is not configured")
    keyed_request = keyed(idempotency_key, "POST /api/{user_id}/chat", data.model_dump(mode="json"))
    if keyed_request is None:
        return _turn(client, owner, session, data, request, on_change=lambda: None)
    stored = idempotency.claim(session, owner, keyed_request)
    if stored is not None:
        return JSONResponse(stored.body, status_code=stored.status_code, headers={REPLAYED_HEADER: "true"})
    changed = False

    def began() -> None:
        nonlocal changed
        changed = True

    try:
        answer = _turn(client, owner, session, data, request, on_change=began)
    except Exception as exc:
        _settle_failed_turn(session, owner, keyed_request, exc, changed)
        raise
    idempotency.finish(session, owner, keyed_request, status.HTTP_200_OK, answer.model_dump(mode="json"))
    return answer


def _settle_failed_turn(
    session: Session, owner: str, keyed_request: idempotency.KeyedRequest, exc: Exception, changed: bool
) -> None:
    """Free the key of a turn that changed nothing; keep the answer of one that did, for its retries."""
    if isinstance(exc, HTTPException):
        status_code, detail = exc.status_code, exc.detail
    elif isinstance(exc, DATABASE_UNAVAILABLE):
        status_code, detail = status.HTTP_503_SERVICE_UNAVAILABLE, DATABASE_UNAVAILABLE_DETAIL
    else:
        status_code, detail = status.HTTP_500_INTERNAL_SERVER_ERROR, INTERNAL_ERROR_DETAIL
    try:
        if changed:
            idempotency.finish(session, owner, keyed_request, status_code, {"detail": detail})
        else:
            idempotency.release(session, owner, keyed_request)
    except DATABASE_UNAVAILABLE:
        logger.warning("Idempotency key left as running; a retry takes it over after the lease")


def _turn(
    client: openai.OpenAI,
    owner: str,
    session: Session,
    data: ChatRequest,
    request: Request,
    on_change: Callable[[], None],
) -> ChatResponse:
    settings = get_settings()
    deadline = _deadline(request, settings)
    history: list[dict[str, Any]] = []  # a new conversation has none to read
    if data.conversation_id is None:
        on_change()
        conversation, preferred_zone = conversations.create_conversation(session, owner, data.message)
    else:
        conversation, preferred_zone = conversations.get_conversation(session, owner, data.conversation_id)
        history = conversations.recent_history(session, conversation, settings.CHAT_HISTORY_TURNS)
    on_change()
    turn_id = conversations.add_message(session, conversation, "user", data.message)

    def store(run: ToolRun) -> None:  # each tool's effect is committed, and recorded, as it happens
        conversations.add_message(session, conversation, "tool", tool_calls=[run.as_dict()], turn_id=turn_id)

    try:
        result = run_turn(
            client,
            settings.LLM_MODEL,
            [*history, {"role": "user", "content": data.message}],
            time_zone=data.timezone or preferred_zone,
            session=session,
            user_id=owner,
            deadline=deadline,
            max_model_calls=settings.CHAT_MAX_MODEL_CALLS,
            on_tool_run=store,
        )
    except TurnTimedOut:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "The model did not answer in time", RETRY_AFTER
        ) from None
    except (openai.OpenAIError, InvalidModelResponse) as exc:
        raise model_failure(exc) from None
    conversations.add_message(session, conversation, "assistant", result.reply, turn_id=turn_id)
    return ChatResponse(
        conversation_id=conversation.id,
        response=result.reply,
        tool_calls=[ToolCallPublic(**run.as_dict()) for run in result.tool_runs],
    )


@router.get("/conversations", response_model=list[ConversationPublic])
async def list_conversations(
    owner: OwnerId, session: SessionDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[Any]:
    """The caller's conversations, most recently active first."""
    return conversations.list_conversations(session, owner, limit)


@router.get("/conversations/{conversation_id}", response_model=ConversationDetail, responses=_NOT_FOUND)
async def get_conversation(owner: OwnerId, session: SessionDep, conversation_id: ConversationId) -> Any:
    """The conversation with its messages in order: the user's, each tool call that ran, the replies."""
    conversation, messages = conversations.conversation_with_messages(session, owner, conversation_id)
    return ConversationDetail(
        **conversation.model_dump(),
        messages=[MessagePublic.model_validate(m, from_attributes=True) for m in messages],
    )


@router.delete("/conversations/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_NOT_FOUND)
async def delete_conversation(owner: OwnerId, session: SessionDep, conversation_id: ConversationId) -> Response:
    conversations.delete_conversation(session, owner, conversation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
