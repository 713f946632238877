"""Fixtures: a fresh app and database per test, built by the real migrations.

The database is SQLite, or PostgreSQL when ``SCHED_TEST_DATABASE`` names a server
(``make test-postgresql`` starts a throw-away one; see tests/support/postgres.py).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import flask_migrate
import pytest
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from tests.support.browser import Browser, RequestIsolatingClient
from tests.support.factories import make_user
from tests.support.paths import PROJECT_DIR
from tests.support.postgres import DATA_ENV, DATABASE_ENV, Cluster, TestDatabases

POSTGRESQL_SERVER = os.environ.get(DATABASE_ENV)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "sqlite_only(reason): the test checks SQLite itself; skipped on PostgreSQL"
    )
    config.addinivalue_line(
        "markers", "postgresql_only(reason): the test checks PostgreSQL itself; skipped on SQLite"
    )
    config.addinivalue_line(
        "markers",
        "each_database: a browser or deployment test that also runs on PostgreSQL (the rest "
        "run once, on SQLite)",
    )


def pytest_report_header(config):
    return f"database: {'PostgreSQL' if POSTGRESQL_SERVER else 'SQLite'}"


# Browsers and nginx test the pages, the same on either database: they run on SQLite only,
# but for the tests marked each_database (what the database decides, such as edit conflicts).
ONCE = ("tests/e2e/", "tests/deploy/")


def pytest_collection_modifyitems(config, items):
    """Skip the tests marked for the other database; leave out the load tests unless asked,
    and on PostgreSQL the browser and deployment tests but those marked each_database."""
    other = "sqlite_only" if POSTGRESQL_SERVER else "postgresql_only"
    for item in items:
        for mark in item.iter_markers(other):
            item.add_marker(pytest.mark.skip(reason=mark.kwargs["reason"]))
    if POSTGRESQL_SERVER:
        once = [
            item
            for item in items
            if item.nodeid.startswith(ONCE) and not item.get_closest_marker("each_database")
        ]
        if once:
            config.hook.pytest_deselected(items=once)
            items[:] = [item for item in items if item not in once]
    # Minutes each (tests/load): only `make test-load`, or a -m expression that names them.
    if "load" not in (config.option.markexpr or ""):
        load = [item for item in items if item.get_closest_marker("load")]
        if load:
            config.hook.pytest_deselected(items=load)
            items[:] = [item for item in items if not item.get_closest_marker("load")]


def migrate(url: str) -> None:
    """Build the schema in the database at ``url`` with `flask db upgrade`."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()  # a PostgreSQL template must have no connections to be copied


@pytest.fixture(scope="session")
def postgresql_databases():
    """Databases on the PostgreSQL server the suite runs on; None on SQLite."""
    if not POSTGRESQL_SERVER:
        yield None
        return
    databases = TestDatabases(POSTGRESQL_SERVER)
    try:
        yield databases
    finally:
        databases.close()


@pytest.fixture(scope="session")
def migrated_database(postgresql_databases, tmp_path_factory):
    """Build one database with `flask db upgrade` and return its URL; each test gets a copy."""
    if postgresql_databases is None:
        url = f"sqlite:///{tmp_path_factory.mktemp('template') / 'sched.db'}"
        migrate(url)
        yield url
        return
    url = postgresql_databases.create()
    try:
        migrate(url)
        yield url
    finally:
        postgresql_databases.drop(url)


@pytest.fixture
def database_url(migrated_database, postgresql_databases, tmp_path):
    """The URL of the test's own copy of the migrated database."""
    yield from _database_copy(migrated_database, postgresql_databases, tmp_path)


def _database_copy(migrated_database, postgresql_databases, directory: Path):
    """Yield the URL of a new copy of the migrated database; drop it afterwards."""
    if postgresql_databases is None:
        path = directory / "sched.db"
        shutil.copy(make_url(migrated_database).database, path)
        yield f"sqlite:///{path}"
        return
    url = postgresql_databases.create(template=migrated_database)
    yield url
    postgresql_databases.drop(url)


@pytest.fixture(scope="module")
def module_database_url(migrated_database, postgresql_databases, tmp_path_factory):
    """A copy of the migrated database that a module's tests share.

    For tests that change nothing, or undo what they change (property-based tests running
    many examples), and would spend most of their time building databases otherwise.
    """
    directory = tmp_path_factory.mktemp("module")
    yield from _database_copy(migrated_database, postgresql_databases, directory)


@pytest.fixture
def cluster() -> Cluster:
    """The throw-away cluster the suite runs on, which a test may restart, or stop and start."""
    data = os.environ.get(DATA_ENV)
    if not data:
        pytest.skip(
            f"restarting the server needs the throw-away cluster of `make test-postgresql` "
            f"({DATA_ENV} unset)"
        )
    return Cluster.from_data_folder(Path(data))


@pytest.fixture
def empty_database_url(postgresql_databases, tmp_path):
    """The URL of a database without any schema, for tests of the migrations themselves."""
    if postgresql_databases is None:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    url = postgresql_databases.create()
    yield url
    postgresql_databases.drop(url)


@pytest.fixture
def app_overrides() -> dict:
    """Extra settings for the test's app; a test module overrides this fixture to add some."""
    return {}


@pytest.fixture
def writable_translations(tmp_path) -> Path:
    """A copy of the catalogs (compiled) that a test may change."""
    directory = tmp_path / "translations"
    shutil.copytree(PROJECT_DIR / "translations", directory)
    return directory


@pytest.fixture
def app(database_url, app_overrides):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url, **app_overrides})
    app.test_client_class = RequestIsolatingClient
    app.extensions["mailman"].outbox = []  # where the locmem mail backend keeps what is sent
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def outbox(app):
    """The mail the app sent during the test."""
    return app.extensions["mailman"].outbox


@pytest.fixture
def browser(client):
    return Browser(client)


@pytest.fixture
def user(app):
    return make_user("owner@example.com", full_name="Olive Owner", timezone="Europe/Berlin")


@pytest.fixture
def logged_in(browser, user):
    browser.login(user.email)
    return browser
