"""The chat function: `chat_api.app.handler` is its Lambda entry point."""

from chat_api.routes import router
from todo_common.api import create_app
from todo_common.handler import make_handler

app = create_app(
    title="Todo API: chat",
    description="An assistant that manages the caller's tasks in natural language, with its conversations.",
    routers=[router],
)
handler = make_handler(app, warm_up=("GET", "/api/warm-up/conversations"))  # no database: see make_handler
