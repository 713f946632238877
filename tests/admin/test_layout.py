"""app/admin's modules import one another one way (app/admin/README.md): no cycle, counting an
import written inside a function as well."""

from __future__ import annotations

import ast
from pathlib import Path

ADMIN_DIR = Path(__file__).resolve().parents[2] / "app" / "admin"


def module_name(path: Path) -> str:
    return "app.admin" if path.stem == "__init__" else f"app.admin.{path.stem}"


def admin_imports(path: Path) -> set[str]:
    """The app.admin modules this file imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            # `from app.admin import audit` imports the module app.admin.audit.
            found |= {f"{node.module}.{alias.name}" for alias in node.names
                      if (ADMIN_DIR / f"{alias.name}.py").exists() and node.module == "app.admin"}
    return {name for name in found if name.startswith("app.admin")} - {module_name(path)}


GRAPH = {module_name(path): admin_imports(path) for path in sorted(ADMIN_DIR.glob("*.py"))}


def cycles() -> list[list[str]]:
    found, done = [], set()

    def visit(module: str, path: list[str]) -> None:
        for imported in sorted(GRAPH.get(module, ())):
            if imported in path:
                found.append([*path[path.index(imported):], imported])
            elif imported not in done:
                visit(imported, [*path, imported])
        done.add(module)

    for module in GRAPH:
        visit(module, [module])
    return found


def test_no_import_cycle_inside_the_admin_package():
    assert cycles() == []


def test_the_screens_share_the_base_and_nothing_imports_a_screen_back():
    screens = {"app.admin.appointments", "app.admin.users", "app.admin.audit",
               "app.admin.translations", "app.admin.dashboard"}
    assert screens <= GRAPH.keys()
    for module, imported in GRAPH.items():
        if module != "app.admin":
            assert not imported & screens, f"{module} imports the screen {imported & screens}"
            assert "app.admin" not in imported, f"{module} imports the package back"
    assert GRAPH["app.admin.base"] <= {"app.admin.security"}
    assert GRAPH["app.admin.security"] == set()


def test_the_cycle_check_sees_a_cycle(monkeypatch):
    monkeypatch.setitem(GRAPH, "app.admin.security", {"app.admin.base"})
    assert ["app.admin.base", "app.admin.security", "app.admin.base"] in cycles()
