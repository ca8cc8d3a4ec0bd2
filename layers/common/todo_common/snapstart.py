"""Lambda SnapStart: what may be in the snapshot, and what must be made fresh after a restore.

With SnapStart on, Lambda runs the init phase once per published version, snapshots the memory,
and starts new environments from that snapshot. Before the snapshot: the imports, the apps and
their validators are warm (a request that touches no database goes through each app), and no
database connection is open. After a restore: each environment reseeds `random`, forgets what it
timed with the monotonic clock (the JWKS cache), and re-reads the secrets if they are older than
they may be.

The runtime's `snapshot_restore_py` calls the hooks; outside SnapStart they never run.
"""

import importlib
import random
from collections.abc import Callable
from types import ModuleType


def _runtime_hooks() -> ModuleType | None:
    try:
        return importlib.import_module("snapshot_restore_py")  # Lambda's Python runtime provides it
    except ImportError:  # not in Lambda: nothing will snapshot or restore
        return None


_runtime = _runtime_hooks()


def before_snapshot(prepare: Callable[[], object]) -> None:
    """Run `prepare` just before Lambda snapshots this environment."""
    if _runtime is not None:
        _runtime.register_before_snapshot(prepare)


def after_restore(refresh: Callable[[], object]) -> None:
    """Run `refresh` when an environment starts from the snapshot."""
    if _runtime is not None:
        _runtime.register_after_restore(refresh)


after_restore(random.seed)  # else every environment restored from a snapshot draws the same numbers
