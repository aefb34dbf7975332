"""The layer contract (pyproject.toml) is real: adding one upward import breaks it."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [
    "config",
    "portal",
    "marketplace",
    "ads",
    "billing",
    "licensing",
    "catalog",
    "accounts",
    "core",
    "inference_client",
]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _copy_project(target: Path) -> None:
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__")
        )


def _lint(project: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=project,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(project)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("module", "upward_import", "broken"),
    [
        ("core/errors.py", "import accounts.services", "core is the kernel"),
        ("accounts/services/__init__.py", "import catalog.services", "Layers"),
        ("catalog/services/__init__.py", "import licensing.services", "Layers"),
        ("licensing/services/__init__.py", "import marketplace.services", "Layers"),
        ("licensing/services/__init__.py", "import billing.services", "Layers"),
        ("billing/services/__init__.py", "import marketplace.services", "Layers"),
        ("billing/services/__init__.py", "import ads.services", "Layers"),
        ("ads/services/__init__.py", "import marketplace.services", "Layers"),
        ("ads/services/__init__.py", "import licensing.models", "Apps use each other only"),
        ("marketplace/services/__init__.py", "import portal.views", "Layers"),
        ("inference_client/__init__.py", "import django", "inference_client is plain"),
    ],
)
def test_one_upward_import_breaks_the_contract(tmp_path, module, upward_import, broken):
    _copy_project(tmp_path)
    assert _lint(tmp_path).returncode == 0  # the copy as it is keeps every contract

    path = tmp_path / module
    path.write_text(path.read_text() + f"\n{upward_import}  # an upward import\n")
    result = _lint(tmp_path)

    assert result.returncode != 0
    assert f"{broken}" in result.stdout
    assert "BROKEN" in result.stdout
