"""What each function imports at cold start (Lambda bills the init phase)."""

import subprocess
import sys

import pytest

from localdev.routing import load_handlers
from support.source_env import source_env

# Each function's handler module.
MODULES = {function: handler.rsplit(".", 1)[0] for function, handler in load_handlers().items()}


@pytest.mark.parametrize("function", MODULES)
def test_only_the_chat_function_imports_openai(function: str) -> None:
    code = f"import sys, {MODULES[function]}; print('openai' in sys.modules)"

    result = subprocess.run([sys.executable, "-c", code], env=source_env(), capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(function == "ChatFunction")


@pytest.mark.parametrize("module", MODULES.values())
def test_without_tracing_no_function_loads_the_xray_sdk_or_botocores_client(module: str) -> None:
    # (Powertools imports botocore's small top-level package itself, to tag its user agent.)
    code = f"import sys, {module}; print(sorted({{'aws_xray_sdk', 'botocore.client'}} & set(sys.modules)))"
    env = {**source_env(), "POWERTOOLS_TRACE_DISABLED": "true", "LAMBDA_TASK_ROOT": "/var/task"}

    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"  # half a second of every cold start, for traces nobody collects
