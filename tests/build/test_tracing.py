"""With tracing on (as in Lambda), each database call and each model call is an X-Ray subsegment."""

import json
import subprocess
import sys
from typing import Any

from localdev import ROOT
from localdev.fake_llm import ScriptedModel, text
from support.source_env import source_env
from support.users import User


def trace(method: str, path: str, token: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    arguments = [sys.executable, str(ROOT / "tests/support/xray_probe.py"), method, path, token]
    if body is not None:
        arguments.append(json.dumps(body))
    result = subprocess.run(arguments, env=source_env(), capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    traced: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return traced


def test_database_calls_are_traced(user: User) -> None:
    traced = trace("GET", f"/api/{user.id}/tasks", user.token)

    assert traced["status"] == 200
    assert ["## handler", "local"] in traced["subsegments"]
    assert ["execute", "remote"] in traced["subsegments"]  # psycopg, patched by the tracer


def test_model_calls_are_traced(user: User, model: ScriptedModel) -> None:
    model.script(text("Hello."))

    traced = trace("POST", f"/api/{user.id}/chat", user.token, {"message": "hi"})

    assert traced["status"] == 200
    assert ["## model call", "local"] in traced["subsegments"]
