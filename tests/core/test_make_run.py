"""`make run` on a fresh checkout: it sets up, seeds the demo and serves where it was asked to.

The checkout is a copy of this one's files (what git tracks, and new files not ignored), with
this one's virtualenv linked in so nothing is installed again.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.support.browser import csrf_token_from
from tests.support.network import free_port
from tests.support.paths import PROJECT_DIR

pytestmark = pytest.mark.uwsgi
START_TIMEOUT = 120  # seconds: migrations, the demo data and uWSGI's workers


def fresh_checkout(target: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_DIR, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = PROJECT_DIR / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)  # mtimes kept: make sees the venv up to date
    (target / ".venv").symlink_to(PROJECT_DIR / ".venv")
    return target


def uwsgi_environment(session: int) -> dict[str, str]:
    """The environment of a uWSGI process that `make run` (leading ``session``) started."""
    for process in Path("/proc").iterdir():
        try:
            name, fields = (process / "stat").read_text().split("(", 1)[1].rsplit(")", 1)
            if name != "uwsgi" or int(fields.split()[3]) != session:  # state ppid pgrp session
                continue
            environ = (process / "environ").read_bytes().decode()
        except (OSError, ValueError, IndexError):
            continue  # not a process, or gone meanwhile
        return dict(item.split("=", 1) for item in environ.split("\0") if "=" in item)
    raise AssertionError("no uWSGI process of `make run` found")


def test_make_run_serves_the_demo_on_the_port_asked_for(tmp_path):
    checkout = fresh_checkout(tmp_path / "sched")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCHED_", "DATABASE_URL"))}
    process = subprocess.Popen(
        ["make", "run", f"PORT={port}"], cwd=checkout, env=env, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout), daemon=True)
    reader.start()
    try:
        login = f"http://127.0.0.1:{port}/login"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, "".join(output)
            assert time.monotonic() < deadline, "".join(output)
            try:
                with urllib.request.urlopen(login, timeout=5) as response:
                    page = response.read().decode()
                    cookie = response.headers["Set-Cookie"].split(";")[0]
                break
            except OSError:
                time.sleep(0.5)
        printed = "".join(output)
        assert f"sched is starting on {login}" in printed
        staff = re.search(r"^\s+(\S+@\S+)\s+(\S+)\s+\(staff\)$", printed, re.M)
        assert staff, printed
        body = urllib.parse.urlencode({
            "email": staff.group(1), "password": staff.group(2),
            "csrf_token": csrf_token_from(page),
        }).encode()
        request = urllib.request.Request(login, data=body, headers={"Cookie": cookie})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.url.endswith("/appointments/")  # logged in, past the login page
        assert not (checkout / "instance").stat().st_mode & 0o077
        # Links in e-mails sent outside a request (reminders) go where it serves.
        assert uwsgi_environment(process.pid)["SCHED_SITE_URL"] == f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        reader.join(timeout=5)
        process.stdout.close()
