"""The MCP function: `mcp_api.app.handler` is its Lambda entry point."""

from mcp_api.routes import router
from todo_common.api import create_app
from todo_common.handler import make_handler

app = create_app(
    title="Todo API: MCP",
    description=(
        "The task tools over the Model Context Protocol at `POST /mcp`, for MCP clients (Claude, Cursor, "
        "ChatGPT, the MCP Inspector) with the same bearer tokens as the REST API."
    ),
    routers=[router],
)
handler = make_handler(app, warm_up=("POST", "/mcp"))  # no database: see make_handler
