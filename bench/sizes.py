"""The size of each function and of the layer as `sam build` makes them: unzipped, and zipped as
`sam deploy` uploads them (deflate).

    python -m bench.sizes [BUILD_DIR]     # default: a fresh build of template.yaml (arm64)
"""

import sys
import tempfile
import zipfile
from pathlib import Path

from localdev.routing import load_handlers

RESOURCES = ("CommonLayer", *load_handlers())


def sizes(build: Path) -> dict[str, tuple[int, int]]:
    """Resource → (unzipped bytes, zipped bytes)."""
    measured = {}
    with tempfile.TemporaryDirectory() as scratch:
        for resource in RESOURCES:
            files = [path for path in sorted((build / resource).rglob("*")) if path.is_file()]
            archive = Path(scratch) / f"{resource}.zip"
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
                for path in files:
                    zipped.write(path, path.relative_to(build / resource))
            measured[resource] = (sum(path.stat().st_size for path in files), archive.stat().st_size)
    return measured


def megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def main() -> None:
    if len(sys.argv) > 1:
        build = Path(sys.argv[1])
    else:
        from localdev.builds import build_stack

        build = build_stack(Path(tempfile.mkdtemp(prefix="todo-bench-sizes-")))
    print(f"{'artifact':<16}{'unzipped':>12}{'zipped':>12}")
    for resource, (unzipped, zipped) in sizes(build).items():
        print(f"{resource:<16}{megabytes(unzipped):>12}{megabytes(zipped):>12}")


if __name__ == "__main__":
    main()
