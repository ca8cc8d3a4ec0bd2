"""The SAM CLI accepts the template (sam validate --lint runs cfn-lint too)."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UV = shutil.which("uv") or str(ROOT / ".tools/bin/uv")
# The pin lives in the Makefile (`make validate`, `make build`); read it from there.
SAM_CLI = re.search(r"^SAM_CLI := (\S+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_sam_validate_lint_accepts_the_template(environment: str) -> None:
    assert SAM_CLI is not None
    result = subprocess.run(
        [UV, "tool", "run", "--from", SAM_CLI.group(1), "sam", "validate", "--lint", "--config-env", environment],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout


def test_cfn_lint_accepts_the_template() -> None:
    assert SAM_CLI is not None
    result = subprocess.run(
        [UV, "tool", "run", "--from", SAM_CLI.group(1), "cfn-lint", "template.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
