"""The GitHub Actions workflows: valid for GitHub's schema, clean for zizmor, and keeping their contract.

CI runs what `make check` runs against a Postgres service. The deploy authenticates to AWS through
GitHub's OIDC provider only, migrates the database (Neon's direct URL) before `sam deploy`, deploys
without prompting, and checks `/health` afterwards.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
DEPLOY = WORKFLOWS / "deploy.yml"
ALL_WORKFLOWS = sorted({CI, DEPLOY, *WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")})

MAKEFILE = (ROOT / "Makefile").read_text()
SAM_CLI = re.search(r"^SAM_CLI := (\S+)$", MAKEFILE, re.MULTILINE)
UV_VERSION = re.search(r"^UV_VERSION := (\S+)$", MAKEFILE, re.MULTILINE)

DEPLOY_ENV = "${{ inputs.environment || 'dev' }}"
ZIZMOR_FLAGS = ["--offline", "--min-severity", "low", "--no-progress", "--color", "never"]
Workflow = dict[Any, Any]


def _tool(name: str) -> str:
    return shutil.which(name) or str(Path(sys.executable).parent / name)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in ("GH_TOKEN", "GITHUB_TOKEN")}
    return subprocess.run(
        [_tool(args[0]), *args[1:]], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300, check=False
    )


def _load(path: Path) -> Workflow:
    workflow = yaml.safe_load(path.read_text())
    assert isinstance(workflow, dict), path
    return workflow


def _triggers(workflow: Workflow) -> Workflow:
    # YAML 1.1 reads the bare key `on` as the boolean true.
    triggers = workflow["on"] if "on" in workflow else workflow[True]
    assert isinstance(triggers, dict)
    return triggers


def _only_job(workflow: Workflow) -> Workflow:
    [job] = workflow["jobs"].values()
    assert isinstance(job, dict)
    return job


def _steps(job: Workflow) -> list[Workflow]:
    steps = job["steps"]
    assert isinstance(steps, list)
    return steps


def _uses(step: Workflow) -> str:
    return str(step.get("uses", ""))


def _index(steps: list[Workflow], pattern: str) -> int:
    """The index of the one step whose `run` script matches `pattern`."""
    found = [i for i, step in enumerate(steps) if re.search(pattern, str(step.get("run", "")), re.MULTILINE)]
    assert len(found) == 1, f"expected exactly one step running {pattern!r}, found {len(found)}"
    return found[0]


def _action_index(steps: list[Workflow], action: str) -> int:
    found = [i for i, step in enumerate(steps) if _uses(step).split("@")[0] == action]
    assert len(found) == 1, f"expected exactly one step using {action}, found {len(found)}"
    return found[0]


# The tools


@pytest.mark.parametrize("workflow", ALL_WORKFLOWS, ids=lambda path: path.name)
def test_workflow_is_valid_for_githubs_schema(workflow: Path) -> None:
    result = _run("check-jsonschema", "--builtin-schema", "vendor.github-workflows", "--color", "never", str(workflow))

    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_in_the_workflows() -> None:
    assert CI.is_file()
    assert DEPLOY.is_file()

    result = _run("zizmor", *ZIZMOR_FLAGS, str(WORKFLOWS))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout, result.stdout + result.stderr


BAD_WORKFLOW = """\
on: pull_request_target
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
"""


def test_the_same_checks_reject_a_bad_workflow(tmp_path: Path) -> None:
    """Guards against the checks above passing vacuously (a flag that turns an audit off, say)."""
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD_WORKFLOW)
    (tmp_path / "schema.yml").write_text(BAD_WORKFLOW.replace("    runs-on: ubuntu-latest\n", ""))

    zizmor = _run("zizmor", *ZIZMOR_FLAGS, str(bad))
    schema = _run("check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(tmp_path / "schema.yml"))

    assert zizmor.returncode != 0, zizmor.stdout + zizmor.stderr
    for audit in ("template-injection", "unpinned-uses", "artipacked"):
        assert f"[{audit}]" in zizmor.stdout, zizmor.stdout + zizmor.stderr
    assert schema.returncode != 0, schema.stdout + schema.stderr


# Both workflows


@pytest.mark.parametrize("workflow", [CI, DEPLOY], ids=lambda path: path.name)
def test_actions_are_pinned_to_a_commit_with_their_version(workflow: Path) -> None:
    uses = re.findall(r"^\s*(?:-\s*)?uses:\s*(.+)$", workflow.read_text(), re.MULTILINE)

    assert uses
    for line in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+", line.strip()), line


@pytest.mark.parametrize("workflow", [CI, DEPLOY], ids=lambda path: path.name)
def test_scripts_take_values_through_env_never_inline_expressions(workflow: Path) -> None:
    for job in _load(workflow)["jobs"].values():
        for step in _steps(job):
            assert "${{" not in str(step.get("run", "")), step


@pytest.mark.parametrize("workflow", [CI, DEPLOY], ids=lambda path: path.name)
def test_toolchain_matches_the_makefile_and_the_lambda_runtime(workflow: Path) -> None:
    steps = _steps(_only_job(_load(workflow)))
    checkout = steps[_action_index(steps, "actions/checkout")]
    python = steps[_action_index(steps, "actions/setup-python")]
    uv = steps[_action_index(steps, "astral-sh/setup-uv")]

    assert checkout["with"]["persist-credentials"] is False
    # sam build builds for the python3.12 runtime with the python3.12 on PATH.
    assert python["with"]["python-version"] == "3.12"
    assert UV_VERSION is not None
    assert uv["with"]["version"] == UV_VERSION.group(1)


# CI


def test_ci_runs_on_pull_requests_and_main() -> None:
    workflow = _load(CI)
    triggers = _triggers(workflow)

    assert "pull_request" in triggers
    assert triggers["push"]["branches"] == ["main"]
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert "github.ref" in workflow["concurrency"]["group"]


def test_ci_lints_tests_and_builds_in_order() -> None:
    steps = _steps(_only_job(_load(CI)))

    order = [_index(steps, rf"^\s*make {target}\s*$") for target in ("lint", "test", "build")]

    assert order == sorted(order)
    assert steps[order[1]]["env"]["TEST_DATABASE_URL"] == "postgresql://postgres:postgres@localhost:5432/postgres"


def test_ci_tests_against_a_healthy_postgres_service() -> None:
    job = _only_job(_load(CI))
    postgres = job["services"]["postgres"]

    assert postgres["image"] == "postgres:16"
    assert "5432:5432" in postgres["ports"]
    assert postgres["env"]["POSTGRES_PASSWORD"] == "postgres"
    assert "--health-cmd" in postgres["options"]
    assert "pg_isready" in postgres["options"]


# Deploy


def test_deploy_runs_on_main_and_by_hand_for_dev_or_prod() -> None:
    workflow = _load(DEPLOY)
    triggers = _triggers(workflow)
    job = _only_job(workflow)

    assert triggers["push"]["branches"] == ["main"]
    environment = triggers["workflow_dispatch"]["inputs"]["environment"]
    assert environment["type"] == "choice"
    assert environment["options"] == ["dev", "prod"]
    # The GitHub environment is the deployed one (so prod's protection rules apply to prod), and a
    # push, which has no inputs, deploys dev.
    assert job["environment"] == DEPLOY_ENV
    assert job["env"]["DEPLOY_ENV"] == DEPLOY_ENV
    assert workflow["concurrency"] == {"group": f"deploy-{DEPLOY_ENV}", "cancel-in-progress": False}


def test_deploy_may_only_mint_an_oidc_token_and_read_the_repository() -> None:
    workflow = _load(DEPLOY)

    # Nothing at the workflow level, where every job (and any job added later) would inherit it.
    assert workflow["permissions"] == {}
    for job in workflow["jobs"].values():
        assert job["permissions"] == {"id-token": "write", "contents": "read"}


def test_deploy_assumes_the_role_through_oidc_without_stored_keys() -> None:
    steps = _steps(_only_job(_load(DEPLOY)))
    credentials = steps[_action_index(steps, "aws-actions/configure-aws-credentials")]["with"]

    assert credentials["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert credentials["aws-region"] == "${{ vars.AWS_REGION }}"
    assert not {"aws-access-key-id", "aws-secret-access-key", "aws-session-token"} & credentials.keys()
    assert "AWS_ACCESS_KEY_ID" not in DEPLOY.read_text()


def test_deploy_migrates_through_the_direct_url_before_sam_deploy() -> None:
    steps = _steps(_only_job(_load(DEPLOY)))
    build = _index(steps, r"^\s*make build\s*$")
    migrate = _index(steps, r"^\s*make migrate\s*$")
    credentials = _action_index(steps, "aws-actions/configure-aws-credentials")
    deploy = _index(steps, r"\bsam deploy\b")

    assert build < migrate < deploy
    assert credentials < deploy
    assert steps[migrate]["env"] == {"DATABASE_URL": "${{ secrets.NEON_DIRECT_URL }}"}


def test_sam_deploy_never_prompts_and_uses_the_makefiles_sam_cli() -> None:
    steps = _steps(_only_job(_load(DEPLOY)))
    command = shlex.split(steps[_index(steps, r"\bsam deploy\b")]["run"])

    assert SAM_CLI is not None
    assert command[:7] == ["uv", "tool", "run", "--from", SAM_CLI.group(1), "sam", "deploy"]
    assert "--no-confirm-changeset" in command
    assert "--no-fail-on-empty-changeset" in command
    assert command[command.index("--config-env") + 1] == "$DEPLOY_ENV"


def test_deploy_ends_with_a_smoke_test_of_the_deployed_api() -> None:
    steps = _steps(_only_job(_load(DEPLOY)))
    deploy = _index(steps, r"\bsam deploy\b")
    smoke = _index(steps, r"\bcurl\b")
    script = steps[smoke]["run"]

    assert smoke == len(steps) - 1 > deploy
    assert '--stack-name "todo-api-$DEPLOY_ENV"' in script
    assert "OutputKey=='ApiUrl'" in script
    assert re.search(r"curl --fail .*--retry 5 --retry-all-errors \"\$API_URL/health\"", script), script
