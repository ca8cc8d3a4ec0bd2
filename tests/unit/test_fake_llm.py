"""The scripted Gemini stand-in itself, driven by the real `openai` SDK."""

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionMessage

from localdev.fake_llm import API_KEY_INVALID, NO_REPLY_LEFT, ScriptedModel, error, slow, text, tool_calls

MODEL = "gemini-3-flash-preview"
USER = {"role": "user", "content": "What is on my list?"}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "list_tasks",
            "description": "The user's tasks.",
            "parameters": {
                "type": "object",
                "properties": {
                    "status": {"type": "string", "enum": ["open", "done"], "description": "Which tasks."},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["status"],
            },
        },
    }
]


@pytest.fixture
def model() -> Iterator[ScriptedModel]:
    model = ScriptedModel()
    yield model
    model.close()


@pytest.fixture
def client(model: ScriptedModel) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=model.base_url, api_key=model.api_key, max_retries=0) as client:
        yield client


def create(client: openai.OpenAI, messages: list[Any], **kwargs: Any) -> ChatCompletion:
    """One chat completion for `messages`."""
    completion = client.chat.completions.create(model=MODEL, messages=messages, **kwargs)
    assert isinstance(completion, ChatCompletion)
    return completion


def complete(client: openai.OpenAI, messages: list[Any], **kwargs: Any) -> ChatCompletionMessage:
    """The message of one chat completion for `messages`."""
    return create(client, messages, **kwargs).choices[0].message


def error_message(exc: openai.APIStatusError) -> str:
    """The message of a list-shaped Gemini error (the SDK's own message only says "Error code: N")."""
    assert isinstance(exc.body, list)
    message = exc.body[0]["error"]["message"]
    assert isinstance(message, str)
    return message


def ask_and_answer(client: openai.OpenAI, model: ScriptedModel) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Scripts two parallel calls and a text reply; returns the assistant message as sent back, and tool answers."""
    model.script(tool_calls(("list_tasks", {"status": "open"}), ("list_tasks", {"status": "done"})), text("Done."))
    assistant = complete(client, [USER], tools=TOOLS).model_dump(exclude_none=True)
    answers = [{"role": "tool", "tool_call_id": call["id"], "content": "[]"} for call in assistant["tool_calls"]]
    return assistant, answers


def test_text_reply_is_parsed_by_sdk(model: ScriptedModel, client: openai.OpenAI) -> None:
    model.script(text("You have 3 tasks."))

    completion = create(client, [USER])

    assert completion.model == MODEL
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.content == "You have 3 tasks."
    assert completion.choices[0].message.tool_calls is None
    assert completion.usage is not None
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens


def test_parallel_tool_calls_carry_signature_on_first_only(model: ScriptedModel, client: openai.OpenAI) -> None:
    model.script(tool_calls(("list_tasks", {"status": "open"}), ("delete_task", '{"id": 7')))

    message = complete(client, [USER], tools=TOOLS)

    assert message.content is None
    calls = message.model_dump(exclude_none=True)["tool_calls"]
    assert [call["function"]["name"] for call in calls] == ["list_tasks", "delete_task"]
    assert json.loads(calls[0]["function"]["arguments"]) == {"status": "open"}
    assert calls[1]["function"]["arguments"] == '{"id": 7'  # sent verbatim, invalid JSON and all
    assert all(call["id"] and call["type"] == "function" for call in calls)
    assert calls[0]["id"] != calls[1]["id"]
    assert calls[0]["extra_content"]["google"]["thought_signature"]
    assert "extra_content" not in calls[1]


def test_tool_calls_take_given_ids_and_finish_reason(model: ScriptedModel, client: openai.OpenAI) -> None:
    model.script(tool_calls(("list_tasks", {}), ids=[""], finish_reason="tool_calls"))

    completion = create(client, [USER])

    assert completion.choices[0].finish_reason == "tool_calls"
    tool_call = completion.choices[0].message.model_dump(exclude_none=True)["tool_calls"][0]
    assert tool_call["id"] == ""


def test_follow_up_with_signature_and_tool_answers_is_accepted(model: ScriptedModel, client: openai.OpenAI) -> None:
    assistant, answers = ask_and_answer(client, model)

    message = complete(client, [USER, assistant, *answers], tools=TOOLS)

    assert message.content == "Done."


@pytest.mark.parametrize("change", ["drop", "alter", "move"])
def test_follow_up_without_issued_signature_is_rejected(
    model: ScriptedModel, client: openai.OpenAI, change: str
) -> None:
    assistant, answers = ask_and_answer(client, model)
    first, second = assistant["tool_calls"]
    if change == "drop":
        del first["extra_content"]
    elif change == "alter":
        first["extra_content"]["google"]["thought_signature"] = "Q29ycnVwdGVk"
    else:  # the signed call no longer first
        assistant["tool_calls"] = [second, first]

    with pytest.raises(openai.BadRequestError) as exc:
        complete(client, [USER, assistant, *answers], tools=TOOLS)

    assert "thought signature" in error_message(exc.value).replace("_", " ")


def test_signature_of_call_without_id_is_matched_by_name_and_arguments(
    model: ScriptedModel, client: openai.OpenAI
) -> None:
    model.script(tool_calls(("list_tasks", {"status": "open"}), ids=[""]), text("Done."))
    assistant = complete(client, [USER]).model_dump(exclude_none=True)
    assistant["tool_calls"][0]["id"] = "call-1"  # the caller names the call itself
    answer = {"role": "tool", "tool_call_id": "call-1", "content": "[]"}
    unsigned = {
        **assistant,
        "tool_calls": [{k: v for k, v in assistant["tool_calls"][0].items() if k != "extra_content"}],
    }

    with pytest.raises(openai.BadRequestError):
        complete(client, [USER, unsigned, answer])
    assert complete(client, [USER, assistant, answer]).content == "Done."


def test_assistant_message_without_content_or_calls_is_rejected(model: ScriptedModel, client: openai.OpenAI) -> None:
    model.script(text("unused"))

    with pytest.raises(openai.BadRequestError) as exc:
        complete(client, [USER, {"role": "assistant", "content": ""}, USER])

    assert "assistant message needs non-empty content or tool_calls" in error_message(exc.value)


def test_missing_tool_answer_is_rejected(model: ScriptedModel, client: openai.OpenAI) -> None:
    assistant, answers = ask_and_answer(client, model)

    with pytest.raises(openai.BadRequestError) as exc:
        complete(client, [USER, assistant, answers[0]], tools=TOOLS)

    assert "no following tool message" in error_message(exc.value)


@pytest.mark.parametrize("tool_call_id", ["", "unknown"])
def test_tool_message_for_no_preceding_call_is_rejected(
    model: ScriptedModel, client: openai.OpenAI, tool_call_id: str
) -> None:
    assistant, answers = ask_and_answer(client, model)
    stray = {"role": "tool", "tool_call_id": tool_call_id, "content": "[]"}

    with pytest.raises(openai.BadRequestError):
        complete(client, [USER, assistant, *answers, stray], tools=TOOLS)


def test_wrong_api_key_is_rejected_like_gemini(model: ScriptedModel) -> None:
    model.script(text("unused"))

    with (
        openai.OpenAI(base_url=model.base_url, api_key="wrong-key", max_retries=0) as client,
        pytest.raises(openai.BadRequestError) as exc,
    ):
        complete(client, [USER])

    assert "API key not valid" in error_message(exc.value)
    assert exc.value.body == [{"error": {"code": 400, "message": API_KEY_INVALID, "status": "INVALID_ARGUMENT"}}]


def test_rate_limit_error_carries_retry_after(model: ScriptedModel, client: openai.OpenAI) -> None:
    model.script(error(429, "Resource has been exhausted (e.g. check quota).", retry_after=7))

    with pytest.raises(openai.RateLimitError) as exc:
        complete(client, [USER])

    assert exc.value.status_code == 429
    assert exc.value.response.headers["retry-after"] == "7"
    assert exc.value.body == [
        {
            "error": {
                "code": 429,
                "message": "Resource has been exhausted (e.g. check quota).",
                "status": "RESOURCE_EXHAUSTED",
            }
        }
    ]


def test_unavailable_is_internal_server_error(model: ScriptedModel, client: openai.OpenAI) -> None:
    model.script(error(503, "The model is overloaded. Please try again later."))

    with pytest.raises(openai.InternalServerError) as exc:
        complete(client, [USER])

    assert exc.value.status_code == 503
    assert "retry-after" not in exc.value.response.headers
    assert isinstance(exc.value.body, list)
    assert exc.value.body[0]["error"]["status"] == "UNAVAILABLE"


def test_slow_reply_misses_client_deadline(model: ScriptedModel, client: openai.OpenAI) -> None:
    model.script(slow(0.5, text("too late")))

    with pytest.raises(openai.APITimeoutError):
        complete(client.with_options(timeout=0.2), [USER])


def test_tool_schema_outside_gemini_subset_is_rejected(model: ScriptedModel, client: openai.OpenAI) -> None:
    model.script(text("unused"))
    tools = json.loads(json.dumps(TOOLS))
    tools[0]["function"]["parameters"]["properties"]["tags"]["items"]["additionalProperties"] = False

    with pytest.raises(openai.BadRequestError) as exc:
        complete(client, [USER], tools=tools)

    assert "'additionalProperties'" in error_message(exc.value)
    assert "properties.tags.items" in error_message(exc.value)


def test_rejected_request_keeps_scripted_reply(model: ScriptedModel, client: openai.OpenAI) -> None:
    model.script(text("kept"))

    with pytest.raises(openai.BadRequestError):
        complete(client, [USER, {"role": "assistant", "content": None}, USER])

    assert complete(client, [USER]).content == "kept"


def test_empty_queue_answers_500(model: ScriptedModel, client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as exc:
        complete(client, [USER])

    assert exc.value.status_code == 500
    assert error_message(exc.value) == NO_REPLY_LEFT


def test_requests_are_recorded_and_reset(model: ScriptedModel, client: openai.OpenAI) -> None:
    model.script(text("one"))

    complete(client, [USER], tools=TOOLS, temperature=0)
    with pytest.raises(openai.BadRequestError):
        complete(client, [])

    assert [request["messages"] for request in model.requests] == [[USER], []]
    assert model.requests[0]["model"] == MODEL
    assert model.requests[0]["tools"] == TOOLS
    assert model.requests[0]["temperature"] == 0
    model.script(text("dropped"))
    model.reset()
    assert model.requests == []
    with pytest.raises(openai.InternalServerError):
        complete(client, [USER])
