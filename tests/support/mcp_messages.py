"""MCP requests as API Gateway delivers them: one JSON-RPC message per POST /mcp, through the MCP
function's Lambda handler (HTTP API v2.0 events, like every other handler test)."""

from typing import Any

from localdev.events import Response, call

HANDSHAKE_VERSION = "2025-11-25"  # the newest revision with the `initialize` handshake
MODERN_VERSION = "2026-07-28"  # no handshake: every request carries its envelope
ACCEPT = "application/json, text/event-stream"  # what MCP clients send


def mcp_post(
    token: str | None, method: str, params: dict[str, Any] | None = None, *, version: str = HANDSHAKE_VERSION
) -> Response:
    """A request (or, with `method` starting `notifications/`, a notification) at `version`."""
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if not method.startswith("notifications/"):
        message["id"] = 1
    headers = {"accept": ACCEPT, "mcp-protocol-version": version}
    params = dict(params or {})
    if version == MODERN_VERSION:
        params["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": version,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "tests", "version": "1"},
        }
        headers["mcp-method"] = method
        if "name" in params:
            headers["mcp-name"] = params["name"]
    if params:
        message["params"] = params
    return call("POST", "/mcp", token=token, json_body=message, headers=headers)


def initialize(token: str, version: str = HANDSHAKE_VERSION) -> Response:
    params = {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "tests", "version": "1"}}
    message = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params}
    # A client sends no MCP-Protocol-Version header before it has negotiated one.
    return call("POST", "/mcp", token=token, json_body=message, headers={"accept": ACCEPT})


def rpc_result(response: Response) -> dict[str, Any]:
    """The JSON-RPC result of a successful exchange."""
    assert response.status == 200, response.body
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert "error" not in body, body
    result: dict[str, Any] = body["result"]
    return result


def call_tool(token: str, name: str, arguments: dict[str, Any], *, version: str = HANDSHAKE_VERSION) -> dict[str, Any]:
    """A `tools/call`'s result: `content`, `structuredContent`, `isError`."""
    return rpc_result(mcp_post(token, "tools/call", {"name": name, "arguments": arguments}, version=version))


# list_tasks' result when the user has no task (that matches).
NO_TASKS = {"tasks": [], "total": 0, "next_cursor": None}
