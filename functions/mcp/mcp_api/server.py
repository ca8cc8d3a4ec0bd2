"""The MCP server: the layer's task tools (`todo_common.tools`, the chat's tools too) for any MCP client.

- Stateless Streamable HTTP with JSON responses: a Lambda invocation answers one POST, and API
  Gateway HTTP APIs cannot stream. The SDK serves the handshake revisions (2025-06-18, 2025-11-25:
  `initialize` first) and 2026-07-28 (no handshake) from the same endpoint.
- The SDK's session manager runs its requests in a task group that `run()` opens, and `run()` may
  be entered once per manager. Lambda (through Mangum) has no lifespan to hold one open across
  invocations, so each request gets a manager of its own: cheap, and correct on every warm start.
- The user is the verified token's: the HTTP endpoint leaves the principal in the request's scope,
  and no tool takes a user argument.
- Tool failures (bad arguments, a task the user does not have) are results with `isError`; nothing
  unexpected reaches the client as more than "Internal server error" (the SDK would send the
  exception's text).
"""

import json
from typing import Any

import mcp_types as types
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from todo_common.db import new_session
from todo_common.errors import DATABASE_UNAVAILABLE, INTERNAL_ERROR_DETAIL
from todo_common.observability import count, logger
from todo_common.tokens import Principal
from todo_common.tools import TOOLS, ToolError

PRINCIPAL_SCOPE_KEY = "todo.principal"
INSTRUCTIONS = (
    "Manage the signed-in user's to-do list. Use list_tasks to find a task's id before completing, "
    "updating or deleting it."
)


TOOL_DEFINITIONS = {
    tool.name: types.Tool(
        name=tool.name,
        description=tool.description,
        input_schema=tool.arguments.model_json_schema(),
        output_schema=tool.result.model_json_schema(),  # every result is an object
        # The destructive and idempotent hints mean something only for tools that change things.
        annotations=types.ToolAnnotations(read_only_hint=True, open_world_hint=False)
        if tool.read_only
        else types.ToolAnnotations(
            read_only_hint=False,
            destructive_hint=tool.destructive,
            idempotent_hint=tool.idempotent,
            open_world_hint=False,
        ),
    )
    for tool in TOOLS.values()
}


def _caller(ctx: ServerRequestContext[Any, Any]) -> str:
    request = ctx.request
    principal = request.scope.get(PRINCIPAL_SCOPE_KEY) if isinstance(request, Request) else None
    if not isinstance(principal, Principal):
        raise RuntimeError("MCP request without a verified principal")
    return principal.user_id


async def _list_tools(
    _ctx: ServerRequestContext[Any, Any], _params: types.PaginatedRequestParams | None
) -> types.ListToolsResult:
    return types.ListToolsResult(tools=list(TOOL_DEFINITIONS.values()))


async def _call_tool(ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams) -> types.CallToolResult:
    tool = TOOLS.get(params.name)
    if tool is None:
        raise MCPError(types.INVALID_PARAMS, f"Unknown tool; the tools are {', '.join(TOOLS)}")
    user_id = _caller(ctx)
    count("McpToolCalls")
    # Blocking database calls in a coroutine, as in the REST routes: one request per environment.
    with new_session() as session:
        try:
            result = tool.call(session, user_id, params.arguments or {})
        except ToolError as exc:
            return _error(str(exc))
        except DATABASE_UNAVAILABLE as exc:
            logger.warning("Database unavailable", extra={"error": type(exc).__name__})
            return _error("the database is unavailable; try again shortly")
    structured = result.model_dump(mode="json")
    return types.CallToolResult(
        # Clients that do not read structured content get the same JSON as text.
        content=[types.TextContent(text=json.dumps(structured))],
        structured_content=structured,
    )


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)


async def _hide_internal_errors(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Protocol errors pass through; anything else is logged and answered without its text."""
    try:
        return await call_next(ctx)
    except (MCPError, ValidationError):
        raise
    except Exception:  # noqa: BLE001 - logged, then answered without its text
        logger.exception("MCP handler failed", extra={"method": ctx.method})
        raise MCPError(types.INTERNAL_ERROR, INTERNAL_ERROR_DETAIL) from None


server: Server[Any] = Server(
    "todo-api",
    version="1.0.0",
    title="Todo API",
    instructions=INSTRUCTIONS,
    on_list_tools=_list_tools,
    on_call_tool=_call_tool,
    get_tool_input_schema=lambda name: TOOL_DEFINITIONS[name].input_schema if name in TOOL_DEFINITIONS else None,
)
server.middleware.append(_hide_internal_errors)


async def serve(principal: Principal, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer one MCP request over HTTP for this caller."""
    scope[PRINCIPAL_SCOPE_KEY] = principal
    # No DNS-rebinding checks (they answer 421 to API Gateway's Host): every request carries a
    # bearer token, which a page that rebinds a name cannot supply.
    manager = StreamableHTTPSessionManager(server, json_response=True, stateless=True)
    async with manager.run():
        await manager.handle_request(scope, receive, send)
