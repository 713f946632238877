"""Real uWSGI processes started from uwsgi.ini serve the app and its static files."""

from __future__ import annotations

import html as html_lib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
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
    shutil.copytree(PROJECT_DIR / "translations", tmp_path / "translations")
    port = free_port()
    env = {
        **os.environ,
        "SCHED_TRANSLATIONS_DIR": str(tmp_path / "translations"),
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


def french_footer(url: str) -> str:
    request = urllib.request.Request(f"{url}/login", headers={"Accept-Language": "fr"})
    with urllib.request.urlopen(request, timeout=5) as response:
        html = response.read().decode()
    return re.search(r"<footer[^>]*>\s*(.*?)\s*</footer>", html, re.S).group(1)


def served_by(log: Path, after: int) -> set[str]:
    """The worker pids that logged requests after the first ``after`` characters of the log."""
    return set(re.findall(r"\[pid: (\d+)\|", log.read_text()[after:]))


def test_a_saved_translation_shows_in_every_worker_at_once(uwsgi_server, tmp_path):
    """The translation console saves through catalogs.editing; no worker keeps the old text."""
    from app import create_app
    from app.core import catalogs

    directory, log = tmp_path / "translations", tmp_path / "uwsgi.log"
    footer = "sched: appointments, kept simply."
    old = catalogs.read_catalog(catalogs.po_path("fr", directory), "fr").get(footer).string
    assert old and old != footer

    def ask_both_workers() -> set[str]:
        """Ask in parallel until both workers have answered (bounded); return every answer."""
        start, answers = len(log.read_text()), set()
        with ThreadPoolExecutor(max_workers=4) as pool:
            for _ in range(25):
                answers |= set(pool.map(french_footer, [uwsgi_server] * 8))
                if len(served_by(log, start)) == WORKERS:
                    return answers
        pytest.fail(f"only {served_by(log, start)} answered")

    assert ask_both_workers() == {html_lib.escape(old, quote=True)}  # cached in both workers

    app = create_app("testing", {"BABEL_TRANSLATION_DIRECTORIES": str(directory)})
    with app.app_context(), catalogs.editing("fr", directory) as catalog:
        catalog[footer].string = "Vos rendez-vous, tout simplement."
    assert ask_both_workers() == {"Vos rendez-vous, tout simplement."}


def test_uwsgi_refuses_to_start_without_secrets(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SECURITY_PASSWORD_SALT")}
    env["SCHED_HTTP"] = f"127.0.0.1:{free_port()}"
    result = subprocess.run(
        [str(UWSGI), "--ini", str(PROJECT_DIR / "uwsgi.ini")],
        cwd=tmp_path, env=env, capture_output=True, timeout=30,
    )
    assert result.returncode != 0
    assert b"SECRET_KEY must be set" in result.stdout + result.stderr
