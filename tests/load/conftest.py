"""Fixtures for the load tests: users to log in as, uWSGI serving uwsgi.ini, and the figures
printed at the end of the run."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from app import create_app
from app.extensions import db
from tests.conftest import POSTGRESQL_SERVER
from tests.core.test_serving import (
    SECRET,
    STATS_SOCKET,
    WORKERS,
    accepting_workers,
    read_stats,
    serving_env,
    start_uwsgi,
    stop_uwsgi,
)
from tests.load.client import LoadResult, User
from tests.support.factories import PASSWORD, make_user
from tests.support.network import free_port

DATABASE = "PostgreSQL" if POSTGRESQL_SERVER else "SQLite"
USERS = 25  # two clients each
TIMEZONE = "Asia/Tokyo"  # no summer time: no form time is skipped or repeated
SALT = SECRET[::-1]  # uWSGI's SECURITY_PASSWORD_SALT, which the passwords are hashed with
REPORTS: list[str] = []


def pytest_terminal_summary(terminalreporter):
    if REPORTS:
        terminalreporter.section(f"load figures ({DATABASE})")
        for text in REPORTS:
            terminalreporter.write_line(text)


@pytest.fixture
def report():
    """Keep a run's figures for the end of the session (and print them in the test's output)."""

    def add(result: LoadResult, title: str, *notes: str) -> None:
        text = "\n".join([result.summary(f"{title} ({DATABASE})"), *(f"  {n}" for n in notes)])
        REPORTS.append(text)
        print(text)

    return add


def add_users(database_url: str, count: int = USERS) -> list[User]:
    """Create ``count`` users who can log in, with the salt uWSGI hashes passwords with."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url,
                                 "SECURITY_PASSWORD_SALT": SALT})
    with app.app_context():
        users = [
            User(make_user(f"load{n:03d}@example.com", timezone=TIMEZONE).email, PASSWORD,
                 TIMEZONE)
            for n in range(count)
        ]
        db.session.remove()
        db.engine.dispose()
    return users


@dataclass
class Server:
    url: str
    folder: Path  # uWSGI's log, stats socket and reload file

    @property
    def stats_socket(self) -> Path:
        return self.folder / STATS_SOCKET

    @property
    def log(self) -> Path:
        return self.folder / "uwsgi.log"

    def master_pid(self) -> int:
        return read_stats(self.stats_socket)["pid"]

    def wait_for_workers(self, timeout: float = 30) -> None:
        """Wait (bounded) until every worker accepts requests: a worker recycled after its
        max-requests may still be loading the app."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if len(accepting_workers(self.stats_socket)) == WORKERS:
                    return
            except OSError:
                return  # uWSGI is gone; stopping it will tell
            time.sleep(0.1)


@contextmanager
def serving(database_url: str, folder: Path) -> Iterator[Server]:
    """uWSGI from uwsgi.ini in production settings on ``database_url``, stopped at the end."""
    port = free_port()
    env = {
        **serving_env(folder),
        "SCHED_HTTP": f"127.0.0.1:{port}",
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET,
        "SECURITY_PASSWORD_SALT": SALT,
        # The load client plays nginx: one proxy in front, telling each client's address.
        "SCHED_TRUSTED_PROXIES": "1",
        "SCHED_REMINDERS": "off",  # no `flask send-reminders` every minute in the figures
    }
    process = start_uwsgi(env, folder)
    server = Server(f"http://127.0.0.1:{port}", folder)
    try:
        yield server
    finally:
        stop_uwsgi(process, folder)


@pytest.fixture
def load_users(database_url) -> list[User]:
    return add_users(database_url)


@pytest.fixture
def server(database_url, load_users, tmp_path) -> Iterator[Server]:
    with serving(database_url, tmp_path) as server:
        yield server
