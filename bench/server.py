"""Serve the app with uWSGI exactly as uwsgi.ini says, and log in to it as a browser would."""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from tests.support.network import free_port

PROJECT_DIR = Path(__file__).resolve().parents[1]
UWSGI_INI = PROJECT_DIR / "uwsgi.ini"
UWSGI = Path(sys.executable).with_name("uwsgi")
WSGI_MODULE = "bench.wsgi:application"
READY = "WSGI app 0 (mountpoint='') ready"
RESPAWNED = "Respawned uWSGI worker"
START_TIMEOUT = 60
LOG_TAIL = 30
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class ServerError(RuntimeError):
    """uWSGI did not start, or the app did not answer as expected."""


class Server:
    """A running uWSGI: its URL, and its log, read as it grows."""

    def __init__(self, url: str, process: subprocess.Popen, log: Path):
        self.url = url
        self.process = process
        self.log = log
        self._read_up_to = 0

    def ensure_running(self) -> None:
        """Raise with the end of the log if uWSGI has stopped (killed from outside, say)."""
        if self.process.poll() is not None:
            tail = self.log.read_text(errors="replace").splitlines()[-LOG_TAIL:]
            raise ServerError(
                f"uWSGI at {self.url} stopped with {self.process.returncode}; its log ends:\n"
                + "\n".join(tail)
            )

    def new_respawns(self) -> int:
        """Count the workers uWSGI replaced since the last call (max-requests, reload-on-rss)."""
        with open(self.log, "rb") as log:
            log.seek(self._read_up_to)
            text = log.read()
        complete = text[: text.rfind(b"\n") + 1]
        self._read_up_to += len(complete)
        return complete.count(RESPAWNED.encode())


def configured_workers() -> int:
    """Read how many worker processes uwsgi.ini starts."""
    match = re.search(r"^processes\s*=\s*(\d+)", UWSGI_INI.read_text(), re.MULTILINE)
    if not match:
        raise ServerError(f"no `processes` in {UWSGI_INI}")
    return int(match.group(1))


@contextmanager
def uwsgi_server(
    database: Path | str, server_secrets: Mapping[str, str], log: Path,
    http11: bool = False,
) -> Iterator[Server]:
    """Run `uwsgi --ini uwsgi.ini` on a free local port with the bench entry point and database:
    a SQLite file's path, or a database URL (postgresql://...).

    ``http11`` serves HTTP on uWSGI's keep-alive socket (http11-socket) instead of uwsgi.ini's
    http-socket, for comparing the two (bench/keepalive.py).
    """
    port = free_port()
    env = {
        **os.environ,
        **server_secrets,
        "SCHED_HTTP": f"127.0.0.1:{port}",
        "DATABASE_URL": database if isinstance(database, str) else f"sqlite:///{database}",
        "SCHED_WSGI_MODULE": WSGI_MODULE,
        # Measured as served in production, with a stats socket and reload file of its own
        # (not those of a `make run` on the same checkout).
        "SCHED_CONFIG": "production",
        "SCHED_STATS": str(log.with_name(f"{log.stem}-stats.sock")),
        "SCHED_RELOAD_FILE": str(log.with_name(f"{log.stem}-reload")),
    }
    env.pop("SCHED_SOCKET", None)
    command = [str(UWSGI), "--ini", str(UWSGI_INI)]
    if http11:
        # uwsgi.ini's HTTP socket (and its Connection: close) gives way to a uwsgi-protocol one
        # nobody uses; the keep-alive socket serves instead.
        env["SCHED_SOCKET"] = str(log.with_name(f"{log.stem}-unused.sock"))
        command += ["--http11-socket", f"127.0.0.1:{port}"]
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_DIR, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )
    try:
        wait_until_ready(process, log)
        yield Server(f"http://127.0.0.1:{port}", process, log)
    finally:
        stop(process)


def wait_until_ready(process: subprocess.Popen, log: Path) -> None:
    """Wait until every worker has built the app (lazy-apps builds it after the fork)."""
    workers = configured_workers()
    deadline = time.monotonic() + START_TIMEOUT
    while log.read_text(errors="replace").count(READY) < workers:
        if process.poll() is not None or time.monotonic() > deadline:
            raise ServerError(f"uWSGI did not start; its log:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)


def stop(process: subprocess.Popen) -> None:
    """Stop uWSGI as its service would (die-on-term), killing it if it will not go."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def request(
    base_url: str, method: str, path: str, cookie: str | None = None, form: dict | None = None
) -> tuple[int, http.client.HTTPResponse, str]:
    """Send one request without following redirects; return status, response and body."""
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    headers = {"Cookie": f"session={cookie}"} if cookie else {}
    body = None
    if form is not None:
        body = urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response, response.read().decode(errors="replace")
    finally:
        connection.close()


def session_cookie(response: http.client.HTTPResponse) -> str | None:
    """Read the session cookie a response sets (production cookies are Secure: no cookie jar
    would send them back over plain HTTP)."""
    for header in response.headers.get_all("Set-Cookie") or ():
        cookie = SimpleCookie(header)
        if "session" in cookie:
            return cookie["session"].value
    return None


def log_in(base_url: str, email: str, password: str) -> str:
    """Log in through the login form; return the value of the logged-in session cookie."""
    status, response, html = request(base_url, "GET", "/login")
    token = CSRF_FIELD.search(html)
    cookie = session_cookie(response)
    if status != 200 or not token or not cookie:
        raise ServerError(f"GET /login answered {status} without a form and session")
    form = {"email": email, "password": password, "csrf_token": token.group(1)}
    status, response, _ = request(base_url, "POST", "/login", cookie=cookie, form=form)
    cookie = session_cookie(response)
    if status != 302 or not cookie:
        raise ServerError(f"logging in as {email} answered {status}, not a redirect")
    return cookie


def status_of(base_url: str, path: str, cookie: str) -> int:
    """Return the status a logged-in GET of ``path`` answers (a redirect means not logged in)."""
    status, _, _ = request(base_url, "GET", path, cookie=cookie)
    return status
