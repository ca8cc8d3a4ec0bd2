"""Conversations and their messages, always scoped to one user (the server keeps no state)."""

import json
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlmodel import Session, col

from todo_common.errors import NotFoundError
from todo_common.models import Conversation, Message
from todo_common.preferences import timezone_of

TITLE_LENGTH = 80
MAX_TOOL_NOTE_RESULT = 1000  # characters of a past tool result sent back to the model


class ConversationNotFound(NotFoundError):
    def __init__(self) -> None:
        super().__init__("Conversation not found")


def create_conversation(session: Session, user_id: str, first_message: str) -> tuple[Conversation, str]:
    """A new conversation, and the user's time zone (read in the same statement)."""
    title = first_message if len(first_message) <= TITLE_LENGTH else first_message[: TITLE_LENGTH - 1] + "…"
    statement = insert(Conversation).values(user_id=user_id, title=title).returning(Conversation, timezone_of(user_id))
    conversation, zone = session.execute(statement).one()
    return conversation, zone


def get_conversation(session: Session, user_id: str, conversation_id: int) -> tuple[Conversation, str]:
    """The user's conversation, and their time zone (read in the same statement)."""
    row = session.execute(
        select(Conversation, timezone_of(user_id)).where(
            col(Conversation.id) == conversation_id, col(Conversation.user_id) == user_id
        )
    ).one_or_none()
    if row is None:
        raise ConversationNotFound()
    return row[0], row[1]


def list_conversations(session: Session, user_id: str, limit: int) -> list[Conversation]:
    statement = (
        select(Conversation)
        .where(col(Conversation.user_id) == user_id)
        .order_by(col(Conversation.updated_at).desc(), col(Conversation.id).desc())
        .limit(limit)
    )
    return list(session.scalars(statement))


def delete_conversation(session: Session, user_id: str, conversation_id: int) -> None:
    """Delete the conversation and (by cascade) its messages."""
    deleted = session.scalars(
        delete(Conversation)
        .where(col(Conversation.id) == conversation_id, col(Conversation.user_id) == user_id)
        .returning(col(Conversation.id))
    ).one_or_none()
    if deleted is None:
        raise ConversationNotFound()


def add_message(
    session: Session,
    conversation: Conversation,
    role: str,
    content: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    turn_id: int | None = None,
) -> int:
    """Store one message and mark the conversation as updated, in one statement; the message's id."""
    added = (
        insert(Message)
        .values(
            conversation_id=conversation.id,
            user_id=conversation.user_id,
            role=role,
            content=content,
            tool_calls=tool_calls,
            turn_id=turn_id,
        )
        .returning(col(Message.id))
        .cte("added")
    )
    touched = update(Conversation).where(col(Conversation.id) == conversation.id).values(updated_at=func.now())
    message_id: int = session.execute(select(added.c.id).add_cte(touched.cte("touched"))).scalar_one()
    return message_id


def conversation_with_messages(
    session: Session, user_id: str, conversation_id: int
) -> tuple[Conversation, list[Message]]:
    """The user's conversation and its messages in order, in one statement."""
    statement = (
        select(Conversation, Message)
        .outerjoin(Message, col(Message.conversation_id) == col(Conversation.id))
        .where(col(Conversation.id) == conversation_id, col(Conversation.user_id) == user_id)
        .order_by(col(Message.id))
    )
    rows = session.execute(statement).all()
    if not rows:
        raise ConversationNotFound()
    return rows[0][0], [message for _conversation, message in rows if message is not None]


def recent_history(session: Session, conversation: Conversation, turns: int) -> list[dict[str, Any]]:
    """The last `turns` whole turns, as chat messages for the model (one statement).

    A turn is the user's message, the tool calls that ran for it and the reply. It goes to the model
    as a user message and one assistant message that says which tools ran and what they returned,
    so a tool call is never separated from its result and user and assistant strictly alternate.
    """
    first_user_message = (
        select(col(Message.id))
        .where(col(Message.conversation_id) == conversation.id, col(Message.role) == "user")
        .order_by(col(Message.id).desc())
        .offset(turns - 1)
        .limit(1)
        .scalar_subquery()
    )
    rows = session.scalars(
        select(Message)
        .where(col(Message.conversation_id) == conversation.id, col(Message.id) >= func.coalesce(first_user_message, 0))
        .order_by(col(Message.id))
    ).all()
    # Each turn by its user message: concurrent messages interleave their entries in id order, and
    # turn_id keeps each tool call and reply with its question (rows from before it follow the order).
    turns_by_id: dict[int, tuple[str, list[str]]] = {}
    current: int | None = None
    for row in rows:
        if row.role == "user":
            current = row.id
            turns_by_id[row.id] = (row.content or "", [])
            continue
        turn = turns_by_id.get(row.turn_id if row.turn_id is not None else current or 0)
        if turn is None:
            continue  # the late reply of a turn older than the window
        if row.role == "tool":
            turn[1].extend(_tool_note(call) for call in row.tool_calls or [])
        elif row.content:
            turn[1].append(row.content)
    history: list[dict[str, Any]] = []
    for question, said in turns_by_id.values():
        history += [
            {"role": "user", "content": question},
            {"role": "assistant", "content": "\n".join(said) or "(no reply)"},
        ]
    return history


def _tool_note(call: dict[str, Any]) -> str:
    """What a past tool call did, for the model; long results are cut (it can list the tasks again)."""
    result = json.dumps(call["result"])
    if len(result) > MAX_TOOL_NOTE_RESULT:
        result = result[:MAX_TOOL_NOTE_RESULT] + "… (cut)"
    return f"[{call['name']}({json.dumps(call['arguments'])}) returned {result}]"
