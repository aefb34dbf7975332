"""docs/security.md names the tests that prove each threat's answer; each must exist."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _defined_tests() -> set[str]:
    names = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        names.update(re.findall(r"^(?:async )?def (test_\w+)", path.read_text(), re.MULTILINE))
    return names


def test_every_test_named_in_the_security_doc_exists():
    doc = (ROOT / "docs" / "security.md").read_text()
    named = set(re.findall(r"`(test_\w+)`", doc))
    assert len(named) > 50
    assert sorted(named - _defined_tests()) == []


def test_every_file_named_in_the_security_doc_exists():
    doc = (ROOT / "docs" / "security.md").read_text()
    paths = set(re.findall(r"`((?:tests|bench)/[\w/]+\.(?:py|sh))`", doc))
    assert paths
    assert sorted(p for p in paths if not (ROOT / p).exists()) == []
