"""The auth function: `auth_api.app.handler` is its Lambda entry point."""

from auth_api.routes import router
from todo_common.api import create_app
from todo_common.handler import make_handler

app = create_app(
    title="Todo API: auth",
    description="Sign up, log in for an access token, and see who a token belongs to.",
    routers=[router],
)
handler = make_handler(app, warm_up=("GET", "/api/auth/me"))  # no database: see make_handler
