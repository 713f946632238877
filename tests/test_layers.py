"""The house's floors: a module imports only from its own floor or the ones below.

    core (with app.extensions)  <  accounts  <  scheduling, audit  <  admin  <  the factory
                                                                             (app/__init__.py,
                                                                              app/demo.py)

Accounts come first among the features: appointments have owners and the audit log names
accounts, while accounts know neither; what happens to an account reaches the audit log as a
signal (app/accounts/signals.py). Every import counts, a function's own included: one written
inside a function to dodge a cycle is still a dependency. And no two modules import each other,
directly or round a circle, unless both are in the same package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"
FLOORS = {
    "core": 0, "extensions": 0,
    "accounts": 1,
    "scheduling": 2, "audit": 2,
    "admin": 3,
    "demo": 4, "": 4,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def floor_of(module: str) -> int:
    """The floor of an ``app...`` module: by its first name below ``app``."""
    parts = module.split(".")
    return FLOORS[parts[1] if len(parts) > 1 else ""]


def imports_of(path: Path) -> set[str]:
    """Every ``app...`` module the file imports, anywhere in it (the app writes no relative
    imports: one would fail here, unread)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert not node.level, f"{path}: a relative import"
            found.add(node.module)
            # `from app.audit import recording` imports the module app.audit.recording.
            folder = APP.parent / node.module.replace(".", "/")
            found |= {f"{node.module}.{alias.name}" for alias in node.names
                      if (folder / f"{alias.name}.py").exists() or (folder / alias.name).is_dir()}
    return {name for name in found if name == "app" or name.startswith("app.")}


MODULES = sorted(APP.rglob("*.py"))


def test_the_floors_cover_every_package():
    tops = {module_name(path).split(".")[1] for path in MODULES if "." in module_name(path)}
    assert tops <= FLOORS.keys(), tops - FLOORS.keys()


@pytest.mark.parametrize("path", MODULES, ids=lambda path: module_name(path))
def test_no_module_imports_from_a_floor_above_its_own(path):
    here = floor_of(module_name(path))
    above = sorted(name for name in imports_of(path) if name != "app" and floor_of(name) > here)
    assert above == [], f"{module_name(path)} (floor {here}) imports {above}"


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The circles of the import graph: its strongly connected parts of two modules or more
    (Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(module: str) -> None:
        index[module] = lowest[module] = len(index)
        stack.append(module)
        for imported in graph[module]:
            if imported not in index:
                visit(imported)
                lowest[module] = min(lowest[module], lowest[imported])
            elif imported in stack:
                lowest[module] = min(lowest[module], index[imported])
        if lowest[module] == index[module]:
            part = []
            while not part or part[-1] != module:
                part.append(stack.pop())
            if len(part) > 1:
                circles.append(sorted(part))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return circles


def package_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_no_import_circle_crosses_a_package():
    names = {module_name(path): path for path in MODULES}
    graph = {
        name: {imported for imported in imports_of(path) if imported in names and imported != name}
        for name, path in names.items()
    }
    crossing = [circle for circle in import_circles(graph)
                if len({package_of(module) for module in circle}) > 1]
    assert crossing == []


def test_the_circle_check_finds_circles_round_several_modules():
    graph = {"app.a.x": {"app.b.y"}, "app.b.y": {"app.c.z"}, "app.c.z": {"app.a.x"},
             "app.a.w": {"app.a.x"}}
    assert import_circles(graph) == [["app.a.x", "app.b.y", "app.c.z"]]
    assert import_circles({"app.a.x": {"app.a.w"}, "app.a.w": set()}) == []


def test_the_database_base_does_not_import_the_extensions_built_on_it():
    """app.extensions builds Flask-SQLAlchemy on app.core.db's Base: no way back."""
    assert "app.extensions" not in imports_of(APP / "core" / "db.py")


def test_the_check_sees_imports_inside_functions_and_from_packages(tmp_path):
    module = tmp_path / "probe.py"
    module.write_text("def f():\n    from app.admin import audit\n    import app.core.db\n")
    assert imports_of(module) == {"app.admin", "app.admin.audit", "app.core.db"}
    assert floor_of("app.admin.audit") > floor_of("app.accounts.lockout")
