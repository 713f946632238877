"""The house's floors: a module imports only from its own floor or the ones below.

    core (with app.extensions)  <  accounts, scheduling, audit  <  admin  <  the factory
                                                                           (app/__init__.py,
                                                                            app/demo.py)

Every import counts, a function's own included: one written inside a function to dodge a
cycle is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"
FLOORS = {
    "core": 0, "extensions": 0,
    "accounts": 1, "scheduling": 1, "audit": 1,
    "admin": 2,
    "demo": 3, "": 3,
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


def test_the_database_base_does_not_import_the_extensions_built_on_it():
    """app.extensions builds Flask-SQLAlchemy on app.core.db's Base: no way back."""
    assert "app.extensions" not in imports_of(APP / "core" / "db.py")


def test_the_check_sees_imports_inside_functions_and_from_packages(tmp_path):
    module = tmp_path / "probe.py"
    module.write_text("def f():\n    from app.admin import audit\n    import app.core.db\n")
    assert imports_of(module) == {"app.admin", "app.admin.audit", "app.core.db"}
    assert floor_of("app.admin.audit") > floor_of("app.accounts.lockout")
