"""The SAM CLI accepts the template: `make validate` runs `sam validate --lint` and cfn-lint itself
(which fails on warnings too), with the SAM CLI the Makefile pins."""

import subprocess

from localdev import ROOT


def test_make_validate_accepts_the_template() -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "validate"], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout
