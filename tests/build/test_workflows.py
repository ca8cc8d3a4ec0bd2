"""The GitHub Actions workflows: valid for GitHub's schema, clean for zizmor, and keeping their contract.

They run tools only through the Makefile's targets (which pin them), and those targets exist. The
deploy authenticates to AWS through GitHub's OIDC provider only, migrates the database (Neon's
direct URL) before `sam deploy`, deploys without prompting, and checks `/health` afterwards.
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

from localdev import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
DEPLOY = WORKFLOWS / "deploy.yml"
ALL_WORKFLOWS = sorted({CI, DEPLOY, *WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")})

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
def test_workflows_run_tools_through_make_targets_that_exist(workflow: Path) -> None:
    """The Makefile pins uv and the SAM CLI; a workflow that installed or called them itself would
    drift from it, and one calling a target that is gone would only fail on GitHub."""
    steps = _steps(_only_job(_load(workflow)))
    scripts = [str(step["run"]) for step in steps if "run" in step]
    targets = [word for script in scripts for word in re.findall(r"^\s*make (\S+)", script, re.MULTILINE)]

    assert targets
    for target in targets:
        dry_run = subprocess.run(["make", "--dry-run", target], cwd=ROOT, capture_output=True, text=True, check=False)
        assert dry_run.returncode == 0, dry_run.stderr
    assert not [step for step in steps if "setup-uv" in _uses(step)]
    assert not [script for script in scripts if re.search(r"\b(uv|uvx|sam|pip)\s", script)]


# Deploy


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
    assert not {"aws-access-key-id", "aws-secret-access-key", "aws-session-token"} & credentials.keys()
    assert "AWS_ACCESS_KEY_ID" not in DEPLOY.read_text()


def test_deploy_builds_then_migrates_through_the_direct_url_then_deploys_and_checks_health() -> None:
    steps = _steps(_only_job(_load(DEPLOY)))
    build = _index(steps, r"^\s*make build\s*$")
    migrate = _index(steps, r"^\s*make migrate\s*$")
    credentials = _action_index(steps, "aws-actions/configure-aws-credentials")
    deploy = _index(steps, r"^\s*make deploy\b")
    smoke = _index(steps, r"\bcurl\b.*/health")

    assert build < migrate < deploy < smoke == len(steps) - 1
    assert build < credentials < deploy  # nothing installed from PyPI runs with AWS credentials
    assert steps[migrate]["env"] == {"DATABASE_URL": "${{ secrets.NEON_DIRECT_URL }}"}


def test_the_deploy_step_runs_sam_deploy_for_its_environment_without_prompting() -> None:
    """What `make deploy` runs with the deploy step's arguments: a prompt would hang the job."""
    job = _only_job(_load(DEPLOY))
    step = _steps(job)[_index(_steps(job), r"^\s*make deploy\b")]
    arguments = [word.replace("$DEPLOY_ENV", "prod") for word in shlex.split(str(step["run"]))]

    dry_run = subprocess.run(
        ["make", "--dry-run", *arguments[1:]], cwd=ROOT, capture_output=True, text=True, check=True
    )

    [command] = [shlex.split(line) for line in dry_run.stdout.splitlines() if " sam deploy " in line]
    assert command[command.index("--config-env") + 1] == "prod"
    assert {"--no-confirm-changeset", "--no-fail-on-empty-changeset"} <= set(command)
    assert job["env"]["DEPLOY_ENV"] == job["environment"]  # prod's protection rules guard prod
