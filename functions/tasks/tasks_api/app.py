"""The tasks function: `tasks_api.app.handler` is its Lambda entry point."""

from tasks_api import preferences
from tasks_api.routes import health_router, router, task_changed
from todo_common import tasks
from todo_common.api import create_app
from todo_common.handler import make_handler

app = create_app(
    title="Todo API: tasks",
    description="Each user's tasks, reachable only with that user's token.",
    routers=[health_router, router, preferences.router],
)
app.exception_handler(tasks.TaskChanged)(task_changed)
handler = make_handler(app, warm_up=("GET", "/"))  # no database: see make_handler
