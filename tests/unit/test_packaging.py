"""What ships to Lambda is what the lockfile pins."""

from localdev import ROOT
from localdev.requirements import requirements


def test_each_artifacts_requirements_match_the_lockfile() -> None:
    expected = requirements()
    written = {path: path.read_text() for path in [ROOT / "layers/common/requirements.txt"]}
    written |= {path: path.read_text() for path in ROOT.glob("functions/*/requirements.txt")}

    assert written == expected, "run `make requirements`"
    assert "openai" in expected[ROOT / "functions/chat/requirements.txt"]
    assert "openai" not in expected[ROOT / "layers/common/requirements.txt"]
