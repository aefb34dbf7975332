"""docs/architecture.md stays true of the code: every path and dotted name it cites exists."""

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "architecture.md").read_text()
PACKAGES = (
    "accounts",
    "ads",
    "billing",
    "catalog",
    "config",
    "core",
    "inference_client",
    "licensing",
    "marketplace",
    "portal",
    "tests",
)
APPS = {
    "accounts": "accounts.services",
    "ads": "ads.services",
    "licensing": "licensing.services",
    "billing": "billing.services",
    "catalog": "catalog.services",
}


def _code_spans() -> list[str]:
    return re.findall(r"`([^`\n]+)`", DOC)


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    if parts[0] in APPS and len(parts) == 2:  # `licensing.record_use`: the app's public API
        parts = [*APPS[parts[0]].split("."), parts[1]]
    for split in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[split:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


def test_every_cited_path_exists():
    paths = [s for s in _code_spans() if "/" in s and s.split("/")[0] in (*PACKAGES, "docs")]
    assert len(paths) >= 15
    missing = [p for p in paths if not (ROOT / p.split(" ")[0]).exists()]
    assert missing == []


def test_every_cited_dotted_name_exists():
    names = []
    for span in _code_spans():
        for token in re.findall(r"[A-Za-z_][\w.]*\.[A-Za-z_]\w*", span):
            if token.split(".")[0] in PACKAGES[:-1]:
                names.append(token)
    assert len(names) >= 10
    missing = [n for n in names if not _resolves(n)]
    assert missing == []
