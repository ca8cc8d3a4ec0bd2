"""What each function imports at cold start (Lambda bills the init phase)."""

import subprocess
import sys

import pytest

from support.source_env import source_env


@pytest.mark.parametrize(
    ("module", "imports_openai"),
    [("tasks_api.app", False), ("auth_api.app", False), ("mcp_api.app", False), ("chat_api.app", True)],
)
def test_only_the_chat_function_imports_openai(module: str, imports_openai: bool) -> None:
    code = f"import sys, {module}; print('openai' in sys.modules)"

    result = subprocess.run([sys.executable, "-c", code], env=source_env(), capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(imports_openai)
