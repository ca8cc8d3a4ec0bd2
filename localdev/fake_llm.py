"""A scripted stand-in for Gemini's OpenAI-compatible chat-completions endpoint, on 127.0.0.1.

Tests queue replies (`text`, `tool_calls`, `error`, `slow`, `garbled`, `cut_off`) with
`ScriptedModel.script`; each POST to `{base_url}chat/completions` takes the next one. Every request is
first checked the way Gemini checks it (API key, message order, thought signatures, tool schemas): a
failed check answers 400, list-shaped like Gemini's errors, and leaves the queue alone.
"""

import base64
import json
import secrets
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

API_KEY = "test-gemini-key"
API_KEY_INVALID = "API key not valid. Please pass a valid API key."
NO_REPLY_LEFT = "no scripted reply left"
BASE_PATH = "/v1beta/openai/"
COMPLETIONS_PATH = f"{BASE_PATH}chat/completions"
CANONICAL_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
FUNCTION_KEYS = frozenset({"name", "description", "parameters"})
SCHEMA_KEYS = frozenset({"type", "properties", "required", "enum", "description", "items"})


@dataclass(frozen=True)
class Reply:
    """One scripted answer, served after `delay` seconds: an assistant message, or an error when `error` is set."""

    content: str | None = None
    calls: tuple[tuple[str, str], ...] = ()
    ids: tuple[str, ...] | None = None
    finish_reason: str = "stop"
    status: int = 200
    error: dict[str, Any] | None = None
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    raw: bytes | None = None  # sent as the body instead of a completion (with the content type below)
    content_type: str = "application/json"
    cut_off: bool = False  # the connection closes halfway through the body


def text(content: str) -> Reply:
    """An assistant message with `content`."""
    return Reply(content=content)


def tool_calls(
    *calls: tuple[str, dict[str, Any] | str], ids: list[str] | None = None, finish_reason: str = "stop"
) -> Reply:
    """One assistant message with these (name, arguments) calls; str arguments are sent verbatim.

    Ids default to fresh short hex strings; only the first call carries a thought signature, as with Gemini.
    """
    if not calls:
        raise ValueError("tool_calls() needs at least one call")
    if ids is not None and len(ids) != len(calls):
        raise ValueError(f"{len(ids)} ids for {len(calls)} calls")
    encoded = tuple((name, args if isinstance(args, str) else json.dumps(args)) for name, args in calls)
    return Reply(calls=encoded, ids=None if ids is None else tuple(ids), finish_reason=finish_reason)


def error(status: int, message: str, *, code_status: str = "", retry_after: int | None = None) -> Reply:
    """A Gemini-style error answer (list-shaped body), with a Retry-After header when `retry_after` is given."""
    headers = () if retry_after is None else (("Retry-After", str(retry_after)),)
    return Reply(status=status, error=_error_body(status, message, code_status), headers=headers)


def garbled(body: bytes = b'{"id": "chatcmpl-1", "choices": [', content_type: str = "application/json") -> Reply:
    """A 200 whose body is not a chat completion (a proxy's page, a truncated JSON document)."""
    return Reply(raw=body, content_type=content_type)


def cut_off(reply: Reply) -> Reply:
    """`reply`, but the connection drops halfway through its body."""
    return replace(reply, cut_off=True)


def slow(seconds: float, reply: Reply) -> Reply:
    """`reply`, answered only after `seconds`."""
    return replace(reply, delay=reply.delay + seconds)


def _error_body(status: int, message: str, code_status: str = "") -> dict[str, Any]:
    return {"code": status, "message": message, "status": code_status or CANONICAL_STATUS.get(status, "UNKNOWN")}


def _canonical(arguments: str) -> str:
    """Arguments as compact sorted JSON (verbatim when not JSON), so re-encoded arguments still match."""
    try:
        return json.dumps(json.loads(arguments), sort_keys=True, separators=(",", ":"))
    except ValueError:
        return arguments


def _signature_of(call: dict[str, Any]) -> Any:
    extra = call.get("extra_content")
    google = extra.get("google") if isinstance(extra, dict) else None
    return google.get("thought_signature") if isinstance(google, dict) else None


class _Rejected(Exception):
    """A request that Gemini would refuse with 400 INVALID_ARGUMENT."""


@dataclass(frozen=True)
class _Answer:
    status: int
    payload: Any
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    raw: bytes | None = None
    content_type: str = "application/json"
    cut_off: bool = False


def _failure(status: int, message: str) -> _Answer:
    return _Answer(status, [{"error": _error_body(status, message)}])


class ScriptedModel:
    """An OpenAI-compatible chat-completions server on 127.0.0.1 that answers with scripted replies and checks
    requests the way Gemini does."""

    api_key: str = API_KEY

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._replies: deque[Reply] = deque()
        self._signature_by_id: dict[str, str] = {}  # every non-empty call id issued → its message's signature
        self._signatures_by_call: dict[tuple[str, str], set[str]] = {}  # (name, args) of first calls without id
        self._lock = threading.Lock()
        self._closed = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = outer._answer(self.path, self.headers.get("Authorization", ""), raw)
                if answer.delay and outer._closed.wait(answer.delay):
                    return  # closed while sleeping: the client has long given up
                body = answer.raw if answer.raw is not None else json.dumps(answer.payload).encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", answer.content_type)
                    self.send_header("Content-Length", str(len(body)))
                    for name, value in answer.headers:
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2] if answer.cut_off else body)
                    if answer.cut_off:
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out first (deadline tests)

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}{BASE_PATH}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def script(self, *replies: Reply) -> None:
        """Queue replies, served one per accepted request, in order."""
        with self._lock:
            self._replies.extend(replies)

    def reset(self) -> None:
        """Forget queued replies, recorded requests and issued signatures."""
        with self._lock:
            self._replies.clear()
            self.requests.clear()
            self._signature_by_id.clear()
            self._signatures_by_call.clear()

    def close(self) -> None:
        self._closed.set()
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, path: str, authorization: str, raw: bytes) -> _Answer:
        if urlsplit(path).path != COMPLETIONS_PATH:
            return _failure(404, f"No route for {path}")
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with self._lock:
            if isinstance(body, dict):
                self.requests.append(body)
            if authorization != f"Bearer {self.api_key}":
                return _failure(400, API_KEY_INVALID)
            if not isinstance(body, dict):
                return _failure(400, "Invalid JSON payload received: the body must be a JSON object.")
            try:
                self._check(body)
            except _Rejected as rejected:
                return _failure(400, str(rejected))
            if not self._replies:
                return _failure(500, NO_REPLY_LEFT)
            return self._serve(self._replies.popleft(), body)

    def _check(self, body: dict[str, Any]) -> None:
        if not isinstance(body.get("model"), str) or not body["model"]:
            raise _Rejected("model is required")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _Rejected("messages must be a non-empty list")
        open_calls: dict[str, int] = {}  # call id → answers still due, for the latest assistant message
        opened_at = -1
        for index, message in enumerate(messages):
            where = f"messages[{index}]"
            if not isinstance(message, dict) or message.get("role") not in ROLES:
                raise _Rejected(f"{where}: a message must be an object with a role among {sorted(ROLES)}")
            if message["role"] == "tool":
                call_id = message.get("tool_call_id")
                if not isinstance(call_id, str) or not call_id:
                    raise _Rejected(f"{where}: a tool message must carry a non-empty tool_call_id")
                if open_calls.get(call_id, 0) < 1:
                    state = "is already answered" if call_id in open_calls else "answers no call of the preceding"
                    raise _Rejected(f"{where}: tool_call_id {call_id!r} {state} assistant message")
                open_calls[call_id] -= 1
                continue
            _check_answered(open_calls, opened_at)
            open_calls, opened_at = {}, index
            if message["role"] == "assistant":
                open_calls = {call_id: 1 for call_id in self._check_assistant(where, message)}
        _check_answered(open_calls, opened_at)
        if "tools" in body:
            _check_tools(body["tools"])

    def _check_assistant(self, where: str, message: dict[str, Any]) -> list[str]:
        """Checks an assistant message sent back; returns its call ids."""
        calls = message.get("tool_calls")
        if not message.get("content") and not calls:
            raise _Rejected(f"{where}: an assistant message needs non-empty content or tool_calls (empty parts)")
        if not calls:
            return []
        if not isinstance(calls, list) or not all(_is_call(call) for call in calls):
            raise _Rejected(
                f"{where}.tool_calls: each call must be"
                ' {"id": <non-empty str>, "type": "function", "function": {"name": <str>, "arguments": <str>}}'
            )
        ids = [call["id"] for call in calls]
        if len(set(ids)) != len(ids):
            raise _Rejected(f"{where}.tool_calls: call ids must be unique, got {ids}")
        expected = self._issued_signature(calls)
        if expected is not None:
            given = _signature_of(calls[0])
            name = calls[0]["function"]["name"]
            if given is None:
                raise _Rejected(
                    f"{where}.tool_calls[0]: Function call is missing a thought_signature in functionCall parts"
                    f" (function `{name}`); send back extra_content.google.thought_signature as received."
                )
            if given not in expected:
                raise _Rejected(f"{where}.tool_calls[0]: Corrupted thought signature (function `{name}`).")
        return ids

    def _issued_signature(self, calls: list[dict[str, Any]]) -> set[str] | None:
        """The signatures one of these calls' message may carry, if the server issued that message."""
        for call in calls:
            if call["id"] in self._signature_by_id:
                return {self._signature_by_id[call["id"]]}
        first = calls[0]["function"]
        return self._signatures_by_call.get((first["name"], _canonical(first["arguments"])))

    def _serve(self, reply: Reply, body: dict[str, Any]) -> _Answer:
        if reply.error is not None:
            return _Answer(reply.status, [{"error": reply.error}], reply.headers, reply.delay)
        if reply.raw is not None:
            return _Answer(reply.status, None, reply.headers, reply.delay, reply.raw, reply.content_type, reply.cut_off)
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.calls:
            ids = reply.ids if reply.ids is not None else tuple(secrets.token_hex(4) for _ in reply.calls)
            signature = base64.b64encode(secrets.token_bytes(48)).decode()
            self._signature_by_id.update({call_id: signature for call_id in ids if call_id})
            if not ids[0]:
                name, arguments = reply.calls[0]
                self._signatures_by_call.setdefault((name, _canonical(arguments)), set()).add(signature)
            message["tool_calls"] = [
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
                for call_id, (name, arguments) in zip(ids, reply.calls, strict=True)
            ]
            message["tool_calls"][0]["extra_content"] = {"google": {"thought_signature": signature}}
        prompt_tokens = len(json.dumps(body["messages"])) // 4
        completion_tokens = len(json.dumps(message)) // 4
        completion = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        return _Answer(reply.status, completion, reply.headers, reply.delay, cut_off=reply.cut_off)


def _is_call(call: Any) -> bool:
    if not isinstance(call, dict) or call.get("type") != "function":
        return False
    function = call.get("function")
    return (
        isinstance(call.get("id"), str)
        and bool(call["id"])
        and isinstance(function, dict)
        and isinstance(function.get("name"), str)
        and isinstance(function.get("arguments"), str)
    )


def _check_answered(open_calls: dict[str, int], opened_at: int) -> None:
    unanswered = [call_id for call_id, due in open_calls.items() if due]
    if unanswered:
        raise _Rejected(
            f"messages[{opened_at}]: tool calls {unanswered} have no following tool message answering them"
            " (each call needs exactly one, before the next assistant or user message)"
        )


def _check_tools(tools: Any) -> None:
    if not isinstance(tools, list):
        raise _Rejected("tools must be a list")
    for index, tool in enumerate(tools):
        where = f"tools[{index}]"
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(function, dict):
            raise _Rejected(f'{where}: a tool must be {{"type": "function", "function": {{...}}}}')
        if not isinstance(function.get("name"), str) or not function["name"]:
            raise _Rejected(f"{where}.function: name is required")
        for key in function:
            if key not in FUNCTION_KEYS:
                raise _Rejected(f"{where}.function: unsupported key {key!r}")
        if "parameters" in function:
            _check_schema(f"{where}.function.parameters", function["parameters"])


def _check_schema(where: str, schema: Any) -> None:
    """Only the schema keys Gemini's function declarations accept, recursively."""
    if not isinstance(schema, dict):
        raise _Rejected(f"{where}: a schema must be an object")
    for key in schema:
        if key not in SCHEMA_KEYS:
            raise _Rejected(f"{where}: unsupported schema key {key!r} (allowed: {sorted(SCHEMA_KEYS)})")
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        raise _Rejected(f"{where}.properties must be an object")
    for name, subschema in properties.items():
        _check_schema(f"{where}.properties.{name}", subschema)
    if "items" in schema:
        _check_schema(f"{where}.items", schema["items"])
