"""The MCP endpoint and its authorization discovery (MCP authorization spec, RFC 9728).

`POST /mcp` authenticates the caller exactly as the REST API does (same tokens, same 401/503), then
lets the SDK answer. A 401 names the Protected Resource Metadata document, from which an MCP client
learns where to get a token. `GET /mcp` would open a server-sent event stream, which a Lambda behind
an HTTP API cannot hold, and there are no sessions to `DELETE`: both answer 405 at once (after the
token check).
"""

import re
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.types import Receive, Scope, Send

from mcp_api.server import serve
from todo_common import snapstart
from todo_common.api import is_json
from todo_common.errors import documented
from todo_common.security import AUTHENTICATED_RESPONSES, BearerCredentials, authenticate
from todo_common.settings import get_settings
from todo_common.tokens import Principal, TokenVerifier

MCP_PATH = "/mcp"
METADATA_PATH = "/.well-known/oauth-protected-resource"

router = APIRouter(tags=["mcp"])


@lru_cache
def get_mcp_verifier() -> TokenVerifier:
    """The REST API's verifier, also accepting tokens issued for this endpoint (`aud` = its URL)."""
    return TokenVerifier.from_settings(get_settings(), for_mcp=True)


snapstart.after_restore(get_mcp_verifier.cache_clear)  # as todo_common.security's verifier


# A host name or bracketed IPv6 address, and a port: all a Host header may be before it goes into a
# URL and a WWW-Authenticate header.
_HOST = re.compile(r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def resource_url(request: Request) -> str:
    """The MCP endpoint's public URL: `MCP_RESOURCE_URL`, else this request's origin + /mcp."""
    if configured := get_settings().MCP_RESOURCE_URL:
        return configured
    host = request.headers.get("host", "")
    if not _HOST.fullmatch(host):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "Invalid Host header")
    scheme = "http" if request.scope.get("scheme") == "http" else "https"  # Mangum: X-Forwarded-Proto
    return f"{scheme}://{host}{MCP_PATH}"


def metadata_url(resource: str) -> str:
    """Where RFC 9728 puts a resource's metadata: the well-known path, then the resource's path."""
    parts = urlsplit(resource)
    return f"{parts.scheme}://{parts.netloc}{METADATA_PATH}{parts.path.rstrip('/')}"


async def mcp_principal(request: Request, credentials: BearerCredentials) -> Principal:
    challenge = f'resource_metadata="{metadata_url(resource_url(request))}"'
    return authenticate(credentials, get_mcp_verifier(), challenge)


McpPrincipal = Annotated[Principal, Depends(mcp_principal)]


class McpExchange(Response):
    """The SDK's own answer to the request, sent by the SDK (it reads the body and writes the response)."""

    def __init__(self, principal: Principal) -> None:
        super().__init__()
        self.principal = principal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await serve(self.principal, scope, receive, send)


_JSON_RPC = {"application/json": {"schema": {"type": "object", "description": "A JSON-RPC 2.0 message"}}}
# Where the endpoint's URL comes from the Host header (MCP_RESOURCE_URL unset), and it is no host.
_BAD_HOST = "Without MCP_RESOURCE_URL: a `Host` header that is not a host name and port"


@router.post(
    MCP_PATH,
    summary="MCP (Streamable HTTP, stateless, JSON responses)",
    description=(
        "One JSON-RPC message per request. Protocol revisions 2025-06-18 and 2025-11-25 (`initialize` first) "
        "and 2026-07-28 (no handshake). Tools: add_task, list_tasks, complete_task, update_task, delete_task, "
        "always for the token's user. Send `Accept: application/json, text/event-stream`."
    ),
    response_class=Response,
    responses={
        **AUTHENTICATED_RESPONSES,
        200: {"description": "The JSON-RPC response", "content": _JSON_RPC},
        202: {"description": "A notification, accepted"},
        400: {
            "description": "Not one JSON-RPC message for the protocol revision (a JSON-RPC error); or, "
            "without MCP_RESOURCE_URL, a `Host` header that is not a host name and port (`detail`)",
            "content": _JSON_RPC,
        },
        401: documented("No valid token; `WWW-Authenticate` names the resource metadata"),
        406: {"description": "`Accept` names neither application/json nor text/event-stream"},
    },
    openapi_extra={"requestBody": {"required": True, "content": _JSON_RPC}},
)
async def mcp(principal: McpPrincipal, request: Request) -> Response:
    if not is_json(request.headers.get("content-type", "")):  # the SDK would answer in plain text
        return JSONResponse({"detail": "Content-Type must be application/json"}, status.HTTP_415_UNSUPPORTED_MEDIA_TYPE)
    return McpExchange(principal)


def _method_not_allowed(detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status.HTTP_405_METHOD_NOT_ALLOWED, headers={"Allow": "POST"})


# The token is checked first, as on POST: a client that probes the endpoint without one learns where
# to get one (401 with the resource metadata), whichever method it probes with.
_NOT_ALLOWED: dict[int | str, dict[str, Any]] = {
    **AUTHENTICATED_RESPONSES,
    400: documented(_BAD_HOST),
    405: documented("Not offered (`Allow: POST`)"),
}


@router.get(MCP_PATH, status_code=status.HTTP_405_METHOD_NOT_ALLOWED, response_model=None, responses=_NOT_ALLOWED)
async def mcp_stream(_: McpPrincipal) -> JSONResponse:
    """405: this server opens no server-sent event stream (responses come as JSON to each POST)."""
    return _method_not_allowed("This MCP server sends no event stream; POST JSON-RPC messages")


@router.delete(MCP_PATH, status_code=status.HTTP_405_METHOD_NOT_ALLOWED, response_model=None, responses=_NOT_ALLOWED)
async def mcp_end_session(_: McpPrincipal) -> JSONResponse:
    """405: the server is stateless; there is no session to end."""
    return _method_not_allowed("This MCP server is stateless; there is no session to end")


class ProtectedResourceMetadata(BaseModel):
    """OAuth 2.0 Protected Resource Metadata (RFC 9728) of the MCP endpoint."""

    resource: str
    authorization_servers: list[str] | None = None
    bearer_methods_supported: list[str] = ["header"]
    resource_name: str = "Todo API"


@router.get(METADATA_PATH + MCP_PATH, response_model_exclude_none=True, responses={400: documented(_BAD_HOST)})
@router.get(METADATA_PATH, response_model_exclude_none=True, responses={400: documented(_BAD_HOST)})
async def protected_resource_metadata(request: Request) -> ProtectedResourceMetadata:
    """What the MCP endpoint is, and which authorization servers issue tokens for it."""
    settings = get_settings()
    servers = settings.MCP_AUTHORIZATION_SERVERS or ([settings.JWT_ISSUER] if settings.JWT_ISSUER else [])
    return ProtectedResourceMetadata(resource=resource_url(request), authorization_servers=servers or None)
