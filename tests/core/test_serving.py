"""Real uWSGI processes started from uwsgi.ini serve the app and its static files."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
UWSGI = Path(sys.executable).with_name("uwsgi")
WORKERS = 2  # processes in uwsgi.ini
SECRET = "uWSGI-test-secret-0123456789-abcdefghijklmnop"

pytestmark = pytest.mark.uwsgi


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> tuple[int, dict[str, str], str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read().decode()


@pytest.fixture
def uwsgi_server(migrated_database, tmp_path):
    database = tmp_path / "sched.db"
    shutil.copy(migrated_database, database)
    port = free_port()
    env = {
        **os.environ,
        "SCHED_HTTP": f"127.0.0.1:{port}",
        "DATABASE_URL": f"sqlite:///{database}",
        "SECRET_KEY": SECRET,
        "SECURITY_PASSWORD_SALT": SECRET[::-1],
    }
    log = tmp_path / "uwsgi.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [str(UWSGI), "--ini", str(PROJECT_DIR / "uwsgi.ini")],
            cwd=tmp_path, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )
    # Ready when every worker has loaded the app (lazy-apps loads it after the fork).
    deadline = time.monotonic() + 30
    while log.read_text().count("WSGI app 0 (mountpoint='') ready") < WORKERS:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            pytest.fail(f"uWSGI did not start:\n{log.read_text()}")
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    process.send_signal(signal.SIGTERM)
    try:
        assert process.wait(timeout=15) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_uwsgi_serves_pages_and_static_files(uwsgi_server):
    status, _, html = fetch(f"{uwsgi_server}/login")
    assert status == 200 and 'name="csrf_token"' in html

    status, headers, css = fetch(f"{uwsgi_server}/static/vendor/bootstrap/bootstrap.min.css")
    assert status == 200 and "Bootstrap" in css[:200]
    expires = parsedate_to_datetime(headers["Expires"])
    assert expires > datetime.now(timezone.utc) + timedelta(hours=23)

    status, _, html = fetch(f"{uwsgi_server}/appointments/999/")
    assert status == 200 and "Log in" in html  # sent to the login page first

    status, _, html = fetch(f"{uwsgi_server}/no-such-page")
    assert status == 404 and "Page not found" in html


def test_uwsgi_refuses_to_start_without_secrets(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SECURITY_PASSWORD_SALT")}
    env["SCHED_HTTP"] = f"127.0.0.1:{free_port()}"
    result = subprocess.run(
        [str(UWSGI), "--ini", str(PROJECT_DIR / "uwsgi.ini")],
        cwd=tmp_path, env=env, capture_output=True, timeout=30,
    )
    assert result.returncode != 0
    assert b"SECRET_KEY must be set" in result.stdout + result.stderr
