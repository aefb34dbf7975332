"""Benchmarks and examples run outside the suite; their imports of the project still resolve."""

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = {
    "accounts",
    "billing",
    "catalog",
    "config",
    "core",
    "inference_client",
    "licensing",
    "marketplace",
    "portal",
}
SCRIPTS = sorted([*ROOT.glob("bench/*.py"), *ROOT.glob("examples/*.py")])


def _trees(source: str):
    """The script's syntax tree, and those of code it runs from strings (`python -c ...`)."""
    tree = ast.parse(source)
    yield tree
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and "import " in node.value
        ):
            try:
                yield ast.parse(node.value)
            except SyntaxError:
                continue


def _project_imports(path: Path):
    for node in (n for tree in _trees(path.read_text()) for n in ast.walk(tree)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in PROJECT:
                yield node.lineno, node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PROJECT:
                    yield node.lineno, alias.name, []


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_project_import_of_a_script_resolves(script):
    missing = []
    for line, module_name, names in _project_imports(script):
        module = importlib.import_module(module_name)
        for name in names:
            if not hasattr(module, name):
                try:
                    importlib.import_module(f"{module_name}.{name}")
                except ModuleNotFoundError:
                    missing.append(f"line {line}: from {module_name} import {name}")
    assert missing == []


def test_the_scripts_are_found():
    assert len(SCRIPTS) >= 10
