"""bench/results.json: each benchmark's latest figures, one section per benchmark."""

import json
import platform
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.json"


def record(section: str, figures: Any) -> None:
    """Replace one section of results.json, keeping the others."""
    document = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    document[section] = {
        "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
        **figures,
    }
    RESULTS.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
