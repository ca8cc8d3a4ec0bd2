"""The tool loop of one chat turn, within one invocation.

What Gemini's OpenAI-compatible endpoint does, and how the loop copes:
- every tool call carries `extra_content.google.thought_signature`, which must come back unchanged
  in the next request of the turn: the assistant message is sent back as the SDK received it
  (`model_dump(exclude_none=True)` keeps the unknown field);
- several calls per response, each answered by exactly one tool message;
- call ids are short opaque strings, sometimes empty: empty ones get an id made up here, used in
  the assistant message and its tool message alike;
- `content` is null beside tool calls, and `finish_reason` is unreliable: the loop decides on
  `message.tool_calls` alone.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import openai
from aws_lambda_powertools.metrics import MetricUnit
from sqlmodel import Session

from chat_api.model_client import create_completion
from chat_api.tools import SCHEMAS, run_tool
from todo_common.observability import count, metrics, subsegment

SYSTEM_PROMPT = (
    "You are a to-do assistant. Manage the user's tasks only through the tools. When the user refers to a "
    "task by name, call list_tasks first to find its id. Confirm what you did in one or two short sentences."
)
MIN_SECONDS_FOR_A_MODEL_CALL = 2.0


@dataclass
class ToolRun:
    name: str
    arguments: dict[str, Any]
    result: Any

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments, "result": self.result}


@dataclass
class TurnResult:
    reply: str
    tool_runs: list[ToolRun]


class TurnTimedOut(Exception):
    """No time was left for the model before anything was done (→ 503)."""


def run_turn(
    client: openai.OpenAI,
    model: str,
    history: list[dict[str, Any]],
    *,
    time_zone: str,
    session: Session,
    user_id: str,
    deadline: float,
    max_model_calls: int,
    on_tool_run: Callable[[ToolRun], None],
) -> TurnResult:
    """Ask the model, run the tools it calls, and repeat until it answers in words.

    Stops early, with a plain answer saying what was done, at `max_model_calls`, when the model
    repeats a call it already made this turn, or when too little time is left before `deadline`.
    """
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": f"{SYSTEM_PROMPT} {local_now(time_zone)}"},
        *history,
    ]
    runs: list[ToolRun] = []
    calls_made: set[tuple[str, str]] = set()
    for call_number in range(max_model_calls):
        remaining = deadline - time.monotonic()
        if remaining < MIN_SECONDS_FOR_A_MODEL_CALL:
            if not runs:
                raise TurnTimedOut
            return TurnResult(_stopped("I ran out of time before finishing.", runs), runs)
        started = time.monotonic()
        # A subsegment of its own: the SDK talks over httpx2, which X-Ray does not patch.
        with subsegment("## model call", model=model):
            completion = create_completion(
                client,
                deadline=deadline,
                time_to_keep=MIN_SECONDS_FOR_A_MODEL_CALL,
                model=model,
                messages=messages,
                tools=SCHEMAS,
            )
        metrics.add_metric(name="ModelLatency", unit=MetricUnit.Milliseconds, value=(time.monotonic() - started) * 1000)
        if completion.usage is not None:
            count("ModelTokens", completion.usage.total_tokens)
        message = completion.choices[0].message
        if not message.tool_calls:
            return TurnResult(message.content or "Done.", runs)
        assistant = message.model_dump(exclude_none=True)
        for index, call in enumerate(assistant["tool_calls"]):
            call["id"] = call.get("id") or f"call-{call_number}-{index}"
        messages.append(assistant)
        for call in assistant["tool_calls"]:
            name, raw_arguments = call["function"]["name"], call["function"].get("arguments") or "{}"
            signature = (name, _canonical(raw_arguments))
            if signature in calls_made:
                return TurnResult(_stopped("I stopped because I was repeating myself.", runs), runs)
            calls_made.add(signature)
            arguments, result = run_tool(session, user_id, name, raw_arguments)
            count("ChatToolCalls")
            run = ToolRun(name, arguments, result)
            runs.append(run)
            on_tool_run(run)
            messages.append({"role": "tool", "tool_call_id": call["id"], "name": name, "content": json.dumps(result)})
    return TurnResult(_stopped("I stopped after the most steps I may take for one message.", runs), runs)


def local_now(time_zone: str) -> str:
    """The user's here and now, so that the model resolves "tomorrow" or "at 5" in their zone."""
    now = datetime.now(ZoneInfo(time_zone))
    return (
        f"Now is {now:%A}, {now.isoformat(timespec='minutes')}, in the user's time zone {time_zone}. Resolve "
        "relative dates there. Send `due` as YYYY-MM-DD for a day, or as a date-time with its UTC offset."
    )


def _canonical(raw_arguments: str) -> str:
    try:
        return json.dumps(json.loads(raw_arguments), sort_keys=True)
    except ValueError:
        return raw_arguments


def _stopped(reason: str, runs: list[ToolRun]) -> str:
    done = [f"{run.name}: {json.dumps(run.result)}" for run in runs if not _failed(run)]
    return reason + (" What I did: " + "; ".join(done) if done else " Nothing was changed.")


def _failed(run: ToolRun) -> bool:
    return isinstance(run.result, dict) and "error" in run.result
