"""What each function imports at cold start (Lambda bills the init phase)."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PATHS = ["layers/common", "functions/auth", "functions/chat", "functions/tasks"]


@pytest.mark.parametrize(
    ("module", "imports_openai"), [("tasks_api.app", False), ("auth_api.app", False), ("chat_api.app", True)]
)
def test_only_the_chat_function_imports_openai(module: str, imports_openai: bool) -> None:
    code = f"import sys, {module}; print('openai' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(os.path.join(ROOT, p) for p in PATHS)}

    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(imports_openai)
