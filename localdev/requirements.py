"""Writes what each Lambda artifact installs, pinned from uv.lock (`make requirements`).

- `layers/common/requirements.txt`: the project's dependencies, which every function shares;
- `functions/<name>/requirements.txt`: the packages of the dependency group `<name>` that the layer
  does not already have (no file when there are none).

Neither lists what Lambda's Python runtime already provides (the AWS SDK and what it needs). The
lists are complete: the build installs them with `--no-deps`.
"""

import subprocess
import sys
import tomllib
from pathlib import Path

from localdev import ROOT, UV

# In Lambda's Python runtimes beside the runtime itself: boto3 and its dependencies.
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
EXPORT = ["export", "--frozen", "--no-hashes", "--no-emit-project", "--no-annotate", "--no-header"]


def _export(*selection: str) -> dict[str, str]:
    """Package name → its requirement line, for a selection of uv.lock."""
    lines = subprocess.run([UV, *EXPORT, *selection], cwd=ROOT, capture_output=True, text=True, check=True).stdout  # noqa: S603
    pinned = (line for line in lines.splitlines() if line and not line.startswith("#"))
    return {line.split("==", 1)[0]: line for line in pinned}


def requirements() -> dict[Path, str]:
    """Each artifact's requirements.txt (path → text)."""
    layer = {name: line for name, line in _export("--no-default-groups").items() if name not in RUNTIME_PROVIDED}
    files = {ROOT / "layers/common/requirements.txt": layer}
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text()).get("dependency-groups", {})
    for function in sorted(path.name for path in (ROOT / "functions").iterdir() if path.is_dir()):
        if function in groups:
            own = _export("--only-group", function).items()
            files[ROOT / "functions" / function / "requirements.txt"] = {
                name: line for name, line in own if name not in layer and name not in RUNTIME_PROVIDED
            }
    return {path: "".join(f"{line}\n" for line in pinned.values()) for path, pinned in files.items() if pinned}


def main() -> None:
    for path, text in requirements().items():
        path.write_text(text)
        print(f"{path.relative_to(ROOT)}: {len(text.splitlines())} packages", file=sys.stderr)


if __name__ == "__main__":
    main()
