"""The KPI layer is pure: it imports only the standard library and itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import collectpulse.kpi

KPI_DIR = Path(collectpulse.kpi.__file__).parent
IO_CALLS = {"open", "print", "input"}


def _modules() -> list[Path]:
    return sorted(KPI_DIR.glob("*.py"))


def _imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_kpi_modules_import_only_the_standard_library_and_collectpulse_kpi() -> None:
    for path in _modules():
        for name in _imported(ast.parse(path.read_text(encoding="utf-8"))):
            top = name.split(".")[0]
            allowed = top in sys.stdlib_module_names or name.startswith("collectpulse.kpi")
            assert allowed, f"{path.name} imports {name}"


def test_kpi_modules_do_no_io() -> None:
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = {
            node.func.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        assert not calls & IO_CALLS, f"{path.name} calls {calls & IO_CALLS}"


def test_kpi_modules_are_small_rooms() -> None:
    for path in _modules():
        assert len(path.read_text(encoding="utf-8").splitlines()) < 400, path.name
