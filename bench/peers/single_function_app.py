"""The single-function design a newcomer would write: every route of the four functions in one
FastAPI app behind one handler (and every dependency in one artifact, see build.py)."""

from auth_api.routes import router as auth_router
from chat_api.routes import router as chat_router
from mcp_api.routes import router as mcp_router
from tasks_api import preferences
from tasks_api.routes import health_router, task_changed
from tasks_api.routes import router as tasks_router
from todo_common import tasks
from todo_common.api import create_app
from todo_common.handler import make_handler

app = create_app(
    title="Todo API",
    routers=[auth_router, health_router, tasks_router, preferences.router, chat_router, mcp_router],
)
app.exception_handler(tasks.TaskChanged)(task_changed)
handler = make_handler(app, warm_up=("GET", "/"))
