"""The libraries' private names sched relies on (app/admin/README.md) are still there, and
app/admin uses none that is not listed.

An upgrade of Flask-Admin, Flask-Login or Flask-Security may rename or drop a name with an
underscore without warning; this fails first, naming it, instead of a page somewhere.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from datetime import timedelta
from pathlib import Path

import flask_login
import jinja2.meta
import pytest
from flask import Flask, g, session

APP_DIR = Path(__file__).resolve().parents[2] / "app"
ADMIN_DIR = APP_DIR / "admin"
README = ADMIN_DIR / "README.md"
TEMPLATE_DIRS = (APP_DIR / "templates", ADMIN_DIR / "templates")
LIBRARIES = ("flask_admin", "flask_login", "flask_security")

G_ATTRIBUTE = re.compile(r"^(\w+): g\.(\w+)$")
SESSION_KEY = re.compile(r'^(\w+): session\["(\w+)"\]$')
JINJA_NAME = re.compile(r"^(\w+): \{\{ (\w+) \}\}$")
TEMPLATE = re.compile(r"^(\w+): ([\w/.-]+\.html)$")
DOTTED = re.compile(r"^\w+(\.\w+)+$")


def listed_names() -> list[str]:
    """The first column of the README's table of private names, as written there."""
    text = README.read_text()
    section = text.split("## Private names we rely on", 1)[1]
    names, in_table = [], False
    for line in section.splitlines():
        if line.startswith("| Name |"):
            in_table = True
        elif in_table and line.startswith("| ---"):
            continue
        elif in_table and line.startswith("|"):
            cell = line.split("|")[1].strip()
            match = re.fullmatch(r"`([^`]+)`", cell)
            assert match, f"README: the name is not in backticks: {cell!r}"
            names.append(match.group(1))
        elif in_table:
            break
    return names


LISTED = listed_names()


def test_the_list_is_read():
    assert len(LISTED) >= 20
    assert len(set(LISTED)) == len(LISTED), "a name is listed twice"
    for name in LISTED:
        kinds = [p for p in (G_ATTRIBUTE, SESSION_KEY, JINJA_NAME, TEMPLATE, DOTTED)
                 if p.match(name)]
        assert len(kinds) == 1, f"README: {name!r} is written in no known form"


# --- Each listed name, against the installed libraries ----------------------------------------


def package_dir(package: str) -> Path:
    return Path(importlib.import_module(package).__file__).parent


def package_source(package: str) -> str:
    return "\n".join(path.read_text() for path in sorted(package_dir(package).rglob("*.py"))
                     if "tests" not in path.relative_to(package_dir(package)).parts)


def assigns_on_instances(cls: type, name: str) -> bool:
    """Tell whether the source of the class or one of its bases assigns ``self.<name>``."""
    assignment = re.compile(rf"self\.{re.escape(name)}\s*(:[^=\n]*)?=(?!=)")
    for klass in cls.__mro__:
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        if assignment.search(source):
            return True
    return False


def resolve(dotted: str):
    """Return (the object, or None for an instance attribute; the class or object it is on)."""
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        break
    else:
        pytest.fail(f"{dotted}: no module of it can be imported")
    owner = found
    for index, part in enumerate(parts[split:], start=split):
        if hasattr(found, part):
            owner, found = found, getattr(found, part)
        elif index == len(parts) - 1 and isinstance(found, type):
            assert assigns_on_instances(found, part), (
                f"{dotted}: {found.__qualname__} and its bases neither have nor assign {part}"
            )
            return None, found
        else:
            pytest.fail(f"{dotted}: {'.'.join(parts[:index])} has no {part}")
    return found, owner


@pytest.mark.parametrize("name", LISTED)
def test_the_installed_library_still_has_it(name):
    if match := G_ATTRIBUTE.match(name):
        package, attribute = match.groups()
        assert f"g.{attribute}" in package_source(package), (
            f"{package} no longer uses g.{attribute}"
        )
    elif match := SESSION_KEY.match(name):
        package, key = match.groups()
        source = package_source(package)
        assert f'"{key}"' in source or f"'{key}'" in source, f"{package} no longer has {key}"
    elif match := JINJA_NAME.match(name):
        package, variable = match.groups()
        assert re.search(rf"\b{variable}\b", package_source(package)), (
            f"{package} no longer gives templates {variable}"
        )
    elif match := TEMPLATE.match(name):
        package, template = match.groups()
        assert list(package_dir(package).glob(f"templates/**/{template}")), (
            f"{package} no longer has the template {template}"
        )
    else:
        resolve(name)


def test_instance_attributes_are_set_on_the_panels_views(app):
    """The listed instance attributes, on the live Admin and views of a built app."""
    admin = app.extensions["admin"][0]
    live = [admin, *admin._views]
    checked = 0
    for name in filter(DOTTED.match, LISTED):
        found, owner = resolve(name)
        if found is not None or not isinstance(owner, type):
            continue
        attribute = name.rsplit(".", 1)[1]
        instances = [thing for thing in live if isinstance(thing, owner)]
        assert instances, f"{name}: the panel has no {owner.__qualname__}"
        for thing in instances:
            assert hasattr(thing, attribute), f"{name}: not set on {thing!r}"
            checked += 1
    assert checked


# --- What the less obvious ones do, that we count on ----------------------------------------


def login_probe() -> Flask:
    """A bare app with Flask-Login, for what its session keys and g attribute mean."""
    probe = Flask("login_probe")
    probe.secret_key = "probe"
    manager = flask_login.LoginManager(probe)
    manager.user_loader(lambda user_id: ProbeUser() if user_id == "7" else None)
    return probe


class ProbeUser(flask_login.UserMixin):
    id = "7"


def test_flask_login_keeps_the_requests_user_in_g():
    """app/core/errors.py reads and sets g._login_user."""
    with login_probe().test_request_context():
        assert "_login_user" not in g
        flask_login.current_user._get_current_object()
        assert "_login_user" in g
        visitor = flask_login.AnonymousUserMixin()
        g._login_user = visitor
        assert flask_login.current_user._get_current_object() is visitor


def test_flask_login_session_keys():
    """app/accounts/sessions.py drops these to end a login, and reads _remember at login."""
    with login_probe().test_request_context():
        flask_login.login_user(ProbeUser(), remember=True, duration=timedelta(days=2))
        assert session["_user_id"] == "7"
        assert session["_fresh"] is True
        assert "_id" in session
        assert session["_remember"] == "set"
        assert session["_remember_seconds"] == timedelta(days=2).total_seconds()


def test_remember_clear_makes_flask_login_delete_the_remember_cookie():
    probe = login_probe()
    cookie = probe.config.get("REMEMBER_COOKIE_NAME", flask_login.COOKIE_NAME)

    @probe.route("/")
    def forget():
        session["_remember"] = "clear"
        return ""

    client = probe.test_client()
    client.set_cookie(cookie, "7|signature")
    deleted = [header for header in client.get("/").headers.getlist("Set-Cookie")
               if header.startswith(f"{cookie}=;") and "Expires=Thu, 01 Jan 1970" in header]
    assert deleted


def test_flask_security_gives_our_templates_its_names(app):
    assert "_fsdomain" in app.jinja_env.globals
    with app.test_request_context("/login"):
        context = {}
        app.update_template_context(context)
        assert callable(context["_fs_is_user_authenticated"])


def test_flask_admin_passes_its_gettext_to_its_templates():
    from flask_admin.base import BaseView

    assert re.search(r"""\[["']_gettext["']\]""", inspect.getsource(BaseView.render))


def test_our_security_macros_define_every_macro_flask_securitys_templates_import():
    imported = set()
    for template in package_dir("flask_security").glob("templates/**/*.html"):
        for names in re.findall(
            r"""{%-?\s*from\s+["']security/_macros\.html["']\s+import\s+(.+?)\s*-?%}""",
            template.read_text(),
        ):
            imported |= {name.split(" as ")[0].strip() for name in names.split(",")}
    ours = set(re.findall(
        r"{%-?\s*macro\s+(\w+)", (APP_DIR / "templates/security/_macros.html").read_text()
    ))
    assert imported, "Flask-Security's templates no longer import from security/_macros.html"
    assert imported <= ours, f"app/templates/security/_macros.html lacks {imported - ours}"


# --- Every private name app/admin uses is listed ---------------------------------------------


def is_private(name: str) -> bool:
    """An underscore in front; not a dunder, nor gettext's ``_`` itself."""
    return len(name) > 1 and name.startswith("_") and not name.startswith("__")


def is_self_or_super(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id == "self"
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"
    )


def admin_modules():
    for path in sorted(ADMIN_DIR.glob("*.py")):
        name = "app.admin" if path.stem == "__init__" else f"app.admin.{path.stem}"
        yield path, importlib.import_module(name), ast.parse(path.read_text(), str(path))


def names_app_defines() -> set[str]:
    """Private names sched's own code defines: functions, methods, class attributes, and
    attributes it assigns on self."""
    defined = set()
    for path in APP_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                defined.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                if isinstance(node.value, ast.Name) and node.value.id == "self":
                    defined.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined.add(node.id)
    return {name for name in defined if is_private(name)}


def is_ours(module: str) -> bool:
    return module == "app" or module.startswith("app.")


def library_class_of(cls: type, name: str, ours: set[str]) -> type | None:
    """The library class in ``cls``'s bases that defines ``name`` (for an instance attribute no
    class defines: the first library base); None when the name is sched's own."""
    for klass in cls.__mro__:
        if name in vars(klass) and not is_ours(klass.__module__):
            return klass
    if any(name in vars(klass) for klass in cls.__mro__) or name in ours:
        return None
    return next(klass for klass in cls.__mro__ if not is_ours(klass.__module__))


def listed_on(cls: type, name: str) -> bool:
    """Tell whether a listed dotted name is ``name`` on ``cls`` or one of its bases."""
    for listed in filter(DOTTED.match, LISTED):
        prefix, _, last = listed.rpartition(".")
        if last != name:
            continue
        holder, _owner = resolve(prefix)
        if isinstance(holder, type) and holder in cls.__mro__:
            return True
    return False


def test_every_private_library_name_app_admin_uses_is_listed():
    ours = names_app_defines()
    listed_last = {name.rsplit(".", 1)[-1] for name in filter(DOTTED.match, LISTED)}
    unlisted = []
    for path, module, tree in admin_modules():
        checked_in_classes = set()
        for class_node in (node for node in tree.body if isinstance(node, ast.ClassDef)):
            cls = getattr(module, class_node.name)
            for node in ast.walk(class_node):
                if isinstance(node, ast.Attribute) and is_self_or_super(node.value):
                    name = node.attr
                elif isinstance(node, ast.FunctionDef) and node in class_node.body:
                    name = node.name  # an override of a library's private method counts too
                else:
                    continue
                if not is_private(name):
                    continue
                checked_in_classes.add(id(node))
                library = library_class_of(cls, name, ours)
                if library is not None and not listed_on(cls, name):
                    unlisted.append(f"{path.name}: {cls.__name__}.{name} ({library.__module__})")
        # Anywhere else (ModelView.action_delete._action, a class inside a function): a private
        # name sched does not define itself is a library's.
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute) and is_private(node.attr)
                and id(node) not in checked_in_classes
                and node.attr not in ours and node.attr not in listed_last
            ):
                unlisted.append(f"{path.name}:{node.lineno}: .{node.attr}")
    assert unlisted == [], "private library names not in app/admin/README.md: " + ", ".join(
        unlisted
    )


def test_every_private_name_our_templates_use_is_listed(app):
    listed = {match.group(2) for match in map(JINJA_NAME.match, LISTED) if match}
    listed_templates = {match.group(2) for match in map(TEMPLATE.match, LISTED) if match}
    unlisted = []
    for folder in TEMPLATE_DIRS:
        for path in sorted(folder.rglob("*.html")):
            relative = path.relative_to(folder).as_posix()
            tree = app.jinja_env.parse(path.read_text())
            for name in sorted(jinja2.meta.find_undeclared_variables(tree)):
                if is_private(name) and name not in listed:
                    unlisted.append(f"{relative}: {name}")
            # Our own copy of a library's private template replaces it everywhere.
            if is_private(path.name) and relative not in listed_templates and any(
                list(package_dir(package).glob(f"templates/**/{relative}"))
                for package in LIBRARIES
            ):
                unlisted.append(f"{relative} (replaces a library's)")
    assert unlisted == [], "private names not in app/admin/README.md: " + ", ".join(unlisted)


def test_the_checks_catch_an_unlisted_use():
    """The AST rules see an override and a call of a library's private method."""
    from flask_admin.contrib.sqla import ModelView

    ours = names_app_defines()
    assert library_class_of(ModelView, "_refresh_cache", ours) is not None
    assert not listed_on(ModelView, "_refresh_cache")
    assert library_class_of(ModelView, "_filters", ours) is not None  # an instance attribute
    assert listed_on(ModelView, "_filters")
