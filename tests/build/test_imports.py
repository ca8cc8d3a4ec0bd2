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


@pytest.mark.parametrize("module", ["tasks_api.app", "auth_api.app", "mcp_api.app", "chat_api.app"])
def test_without_tracing_no_function_loads_the_xray_sdk_or_botocores_client(module: str) -> None:
    # (Powertools imports botocore's small top-level package itself, to tag its user agent.)
    code = f"import sys, {module}; print(sorted({{'aws_xray_sdk', 'botocore.client'}} & set(sys.modules)))"
    env = {**source_env(), "POWERTOOLS_TRACE_DISABLED": "true", "LAMBDA_TASK_ROOT": "/var/task"}

    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"  # half a second of every cold start, for traces nobody collects
