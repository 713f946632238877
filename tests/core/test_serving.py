"""Real uWSGI processes started from uwsgi.ini serve the app and its static files, reload
gracefully, replace dead workers and report on their stats socket."""

from __future__ import annotations

import contextlib
import html as html_lib
import json
import os
import re
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from werkzeug.http import parse_dict_header

from app.accounts.models import UserSession
from app.extensions import db
from tests.support.factories import make_feed_token, make_user
from tests.support.network import free_port
from tests.support.paths import PROJECT_DIR

UWSGI = Path(sys.executable).with_name("uwsgi")
WORKERS = 2  # processes in uwsgi.ini
SECRET = "uWSGI-test-secret-0123456789-abcdefghijklmnop"
STATS_SOCKET = "stats.sock"  # in the test's tmp_path, like the reload file
RELOAD_FILE = "reload"
READY = "WSGI app 0 (mountpoint='') ready"
POST_FORK = '"unix_signal:15 end_me" (post-fork)'  # uwsgi.ini's last hook in a new worker

pytestmark = pytest.mark.uwsgi


def fetch(url: str) -> tuple[int, dict[str, str], str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read().decode()


def serving_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a test's uWSGI: production settings, its files in tmp_path."""
    env = {
        k: v for k, v in os.environ.items()
        if k not in ("SCHED_SOCKET", "SCHED_HTTP", "SCHED_WSGI_MODULE")
    }
    env.update({
        "SCHED_CONFIG": "production",
        "SCHED_STATS": str(tmp_path / STATS_SOCKET),
        "SCHED_RELOAD_FILE": str(tmp_path / RELOAD_FILE),
    })
    return env


def start_uwsgi(env: dict[str, str], tmp_path: Path) -> subprocess.Popen:
    """Start `uwsgi --ini uwsgi.ini`, logging to tmp_path/uwsgi.log, and wait until it serves."""
    log = tmp_path / "uwsgi.log"
    (tmp_path / RELOAD_FILE).touch()  # as the production default is: present from the start
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [str(UWSGI), "--ini", str(PROJECT_DIR / "uwsgi.ini")],
            cwd=tmp_path, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )
    # Ready when every worker has loaded the app (lazy-apps loads it after the fork).
    deadline = time.monotonic() + 30
    while log.read_text().count(READY) < WORKERS:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            pytest.fail(f"uWSGI did not start:\n{log.read_text()}")
        time.sleep(0.1)
    return process


def stop_uwsgi(process: subprocess.Popen, tmp_path: Path) -> None:
    """Stop uWSGI as its service manager would, and check that it exits cleanly."""
    process.send_signal(signal.SIGTERM)
    try:
        try:
            status = process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail(f"uWSGI did not stop:\n{(tmp_path / 'uwsgi.log').read_text()[-6000:]}")
        assert status == 0, (tmp_path / "uwsgi.log").read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture
def uwsgi_process(database_url, tmp_path) -> Iterator[tuple[str, subprocess.Popen]]:
    """uWSGI from uwsgi.ini on the test's database: its base URL and its master process."""
    shutil.copytree(PROJECT_DIR / "translations", tmp_path / "translations")
    port = free_port()
    env = {
        **serving_env(tmp_path),
        "SCHED_TRANSLATIONS_DIR": str(tmp_path / "translations"),
        "SCHED_HTTP": f"127.0.0.1:{port}",
        "DATABASE_URL": database_url,  # the test's own copy, SQLite or PostgreSQL
        "SECRET_KEY": SECRET,
        "SECURITY_PASSWORD_SALT": SECRET[::-1],
    }
    process = start_uwsgi(env, tmp_path)
    yield f"http://127.0.0.1:{port}", process
    stop_uwsgi(process, tmp_path)


@pytest.fixture
def uwsgi_server(uwsgi_process) -> str:
    return uwsgi_process[0]


def read_stats(path: Path) -> dict:
    """Read the JSON that uWSGI's stats socket sends on each connection."""
    with socket.socket(socket.AF_UNIX) as conn:
        conn.settimeout(5)
        conn.connect(str(path))
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return json.loads(b"".join(chunks))


def accepting_workers(stats_socket: Path) -> dict[int, int]:
    """Worker id -> pid of the workers that have loaded the app and accept requests."""
    return {
        worker["id"]: worker["pid"]
        for worker in read_stats(stats_socket)["workers"]
        if worker["pid"] > 0 and worker["accepting"]
    }


def wait_until(condition, timeout: float, failure):
    """Poll ``condition`` until it returns something true, and return that; after ``timeout``
    seconds, fail with the message ``failure()`` builds then."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            pytest.fail(failure())
        time.sleep(0.1)
    return result


def test_uwsgi_serves_pages_and_static_files(uwsgi_server):
    status, _, html = fetch(f"{uwsgi_server}/login")
    assert status == 200 and 'name="csrf_token"' in html

    status, headers, css = fetch(f"{uwsgi_server}/static/vendor/bootstrap/bootstrap.min.css")
    assert status == 200 and "Bootstrap" in css[:200]
    cache = parse_dict_header(headers["Cache-Control"])
    assert int(cache["max-age"]) >= 86400
    # The same security headers as pages: the app serves the file, not uWSGI's static-map.
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY" and headers["Referrer-Policy"] == "same-origin"

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
    env = serving_env(tmp_path)
    env.pop("SECRET_KEY", None)
    env.pop("SECURITY_PASSWORD_SALT", None)
    env["SCHED_HTTP"] = f"127.0.0.1:{free_port()}"
    result = subprocess.run(
        [str(UWSGI), "--ini", str(PROJECT_DIR / "uwsgi.ini")],
        cwd=tmp_path, env=env, capture_output=True, timeout=30,
    )
    assert result.returncode != 0
    assert b"SECRET_KEY must be set" in result.stdout + result.stderr


def test_the_daily_cron_command_deletes_expired_sessions(uwsgi_process, app, database_url, tmp_path):
    log = (tmp_path / "uwsgi.log").read_text()
    [command] = re.findall(r'\[uwsgi-cron\] command "([^"]*purge-sessions)" registered', log)
    user = make_user("sessions@example.com")
    expired = datetime.now(timezone.utc) - app.permanent_session_lifetime - timedelta(minutes=1)
    db.session.add_all([
        UserSession(id="e" * 64, user_id=user.id, created_at=expired),
        UserSession(id="l" * 64, user_id=user.id),
    ])
    db.session.commit()

    env = {**serving_env(tmp_path), "DATABASE_URL": database_url, "SECRET_KEY": SECRET,
           "SECURITY_PASSWORD_SALT": SECRET[::-1]}
    done = subprocess.run(command.split(), env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1 expired sessions deleted."
    db.session.expire_all()
    assert db.session.scalars(select(UserSession.id)).all() == ["l" * 64]


def test_the_request_log_masks_the_tokens_in_addresses(uwsgi_server, app, tmp_path):
    """Feed tokens and reset or confirmation tokens open things: none may reach the log."""
    log = tmp_path / "uwsgi.log"
    token = make_feed_token(make_user("feed@example.com"))
    reset_token = "reset-token-" + "x" * 40
    assert fetch(f"{uwsgi_server}/calendar/feed/{token}.ics")[0] == 200
    assert fetch(f"{uwsgi_server}/reset/{reset_token}")[0] == 200  # after its redirect
    assert fetch(f"{uwsgi_server}/appointments/?token={token}")[0] == 200  # the login page
    assert fetch(f"{uwsgi_server}/static/css/app.css")[0] == 200
    assert fetch(f"{uwsgi_server}/calendar/feed/{token}.ics?x={'y' * 400}")[0] == 200
    probe = f"/login?probe={time.monotonic_ns()}"
    assert fetch(f"{uwsgi_server}{probe}")[0] == 200
    text = wait_until(lambda: probe in log.read_text() and log.read_text(), 10, log.read_text)

    assert token not in text and reset_token not in text
    assert re.search(r"\] GET /calendar/feed/\*\*\*\.ics => 200, \d+ bytes in \d+ ms", text)
    assert "] GET /reset/*** => 302" in text  # an unknown token: to "Forgot password"
    assert "] GET /appointments/?token=*** => 302" in text  # to the login page...
    assert "] GET /login?next=/appointments/?token=*** => 200" in text  # ...which keeps it
    # uWSGI takes at most 255 bytes from the app: a longer address is cut, and says so.
    cut = "/calendar/feed/***.ics?x=".ljust(255 - len("..."), "y") + "..."
    assert f"] GET {cut} => 200" in text
    assert re.search(r"\] GET /static/css/app.css => 200, \d+ bytes", text)


def test_the_request_log_masks_tokens_in_addresses_no_route_takes(uwsgi_server, tmp_path):
    """A token after a secret route's start is masked even when the address matches no route,
    and in a return address that is absolute or nested (issue 21)."""
    log = tmp_path / "uwsgi.log"
    token = "pen-test-token-" + "z" * 40
    requests = {
        f"/calendar/feed/{token}": ("/calendar/feed/***", 404),
        f"/calendar/feed/{token}.ics/extra": ("/calendar/feed/***.ics/extra", 404),
        f"/reset/{token}/x": ("/reset/***/x", 404),
        f"/login?next=http://127.0.0.1:5000/reset/{token}": (
            "/login?next=http://127.0.0.1:5000/reset/***", 200
        ),
        f"/login?next=/login?next=/reset/{token}": ("/login?next=/login?next=/reset/***", 200),
        # Sent on to the login page, which keeps the address once more nested.
        f"/appointments/?next=/login?next=/reset/{token}": (
            "/appointments/?next=/login?next=/reset/***", 302
        ),
    }
    for address, (_logged, status) in requests.items():
        assert fetch(f"{uwsgi_server}{address}")[0] == (200 if status == 302 else status)
    probe = f"/login?probe={time.monotonic_ns()}"
    assert fetch(f"{uwsgi_server}{probe}")[0] == 200
    text = wait_until(lambda: probe in log.read_text() and log.read_text(), 10, log.read_text)

    assert token not in text
    for logged, status in requests.values():
        assert f"] GET {logged} => {status}" in text
    assert "] GET /login?next=/appointments/?next=/login?next=/reset/*** => 200" in text


def send_raw(port: int, request: bytes) -> tuple[bytes, float]:
    """Send ``request`` as it is; return what came back (nothing if the connection was closed
    or reset unanswered) and how long it took."""
    started = time.monotonic()
    response = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        try:
            conn.sendall(request)
            while chunk := conn.recv(65536):
                response += chunk
        except ConnectionResetError:  # closed with the request still unread
            pass
    return response, time.monotonic() - started


def test_oversized_requests_get_a_clear_answer_at_once(uwsgi_server, tmp_path):
    """An address or headers past the app's limits get 414 or 431 (uwsgi.ini's buffer-size
    hands them over whole); a request past uWSGI's buffer gets its connection closed. Never a
    5xx, never a wait (issue 21: 40 KB got no answer with a 32 KB buffer)."""
    port, log = urlsplit(uwsgi_server).port, tmp_path / "uwsgi.log"
    end = b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    long_query = b"GET /login?q=" + b"a" * 40_000 + end
    long_path = b"GET /calendar/feed/" + b"t" * 20_000 + end
    long_header = b"GET /login HTTP/1.1\r\nHost: localhost\r\nX-Padding: " + b"a" * 40_000 + (
        b"\r\nConnection: close\r\n\r\n"
    )
    past_the_buffer = long_header.replace(b"a" * 40_000, b"a" * 70_000)

    for request, status, message in [
        (long_query, b"414", b"The address is longer than this site accepts."),
        (long_path, b"414", b"The address is longer than this site accepts."),
        (long_header, b"431", b"(its cookies, say) are larger than this site accepts."),
    ]:
        response, seconds = send_raw(port, request)
        assert response.startswith(b"HTTP/1.1 " + status + b" "), response[:300]
        assert message in response and seconds < 5
    response, seconds = send_raw(port, past_the_buffer)
    assert response == b"" and seconds < 5
    assert "invalid HTTP request size (max 65535)" in log.read_text()
    assert fetch(f"{uwsgi_server}/login")[0] == 200  # and the workers serve on
    assert not re.search(r"=> 5\d\d,", log.read_text())


def test_the_stats_socket_answers_json_with_the_workers(uwsgi_server, tmp_path):
    stats = read_stats(tmp_path / STATS_SOCKET)

    workers = stats["workers"]
    assert [worker["id"] for worker in workers] == list(range(1, WORKERS + 1))
    assert all(worker["pid"] > 0 and worker["accepting"] == 1 for worker in workers)
    assert len({stats["pid"], *(worker["pid"] for worker in workers)}) == WORKERS + 1
    assert [s["name"] for s in stats["sockets"]] == [urlsplit(uwsgi_server).netloc]
    # No per-thread details: they would show a request in progress, its cookies included.
    assert not any("cores" in worker for worker in workers)


def test_a_chain_reload_under_traffic_loses_no_request(uwsgi_server, tmp_path):
    """Touching the reload file replaces every worker, one at a time, while clients keep asking."""
    stats_socket, reload_file = tmp_path / STATS_SOCKET, tmp_path / RELOAD_FILE
    log = tmp_path / "uwsgi.log"
    before = accepting_workers(stats_socket)
    assert len(before) == WORKERS
    stop = threading.Event()

    def client() -> list[tuple[float, int | str]]:
        """Ask for the login page until told to stop; return when each answer came, and what."""
        answers = []
        while not stop.is_set():
            try:
                status = fetch(f"{uwsgi_server}/login")[0]
            except OSError as error:  # URLError, a reset connection, a timeout
                status = repr(error)
            answers.append((time.monotonic(), status))
        return answers

    def all_replaced() -> dict[int, int] | None:
        workers = accepting_workers(stats_socket)
        if workers.keys() == before.keys() and not set(workers.values()) & set(before.values()):
            return workers
        return None

    with ThreadPoolExecutor(max_workers=4) as pool:
        clients = [pool.submit(client) for _ in range(4)]
        try:
            time.sleep(0.5)
            # uWSGI compares modification times in whole seconds.
            while time.time() < int(reload_file.stat().st_mtime) + 1:
                time.sleep(0.05)
            reload_file.touch()
            touched_at = time.monotonic()
            after = wait_until(
                all_replaced, 30, lambda: f"the workers were not all replaced:\n{log.read_text()}"
            )
            wait_until(lambda: "chain reloading complete" in log.read_text(), 10, log.read_text)
            replaced_at = time.monotonic()
            time.sleep(0.5)
        finally:
            stop.set()
        answers = [answer for future in clients for answer in future.result(timeout=30)]

    statuses = [status for _, status in answers]
    assert statuses and set(statuses) == {200}, [s for s in statuses if s != 200][:5]
    # Answers kept coming while the workers were replaced: no pause while a new worker loaded the
    # app (~1 s here), as there is when every worker reloads at once.
    during = sorted(at for at, _ in answers if touched_at <= at <= replaced_at)
    assert len(during) >= 10
    assert max(b - a for a, b in zip([touched_at, *during], [*during, replaced_at])) < 0.5
    assert "chain reload !!!" in log.read_text()
    assert all(f"Respawned uWSGI worker {wid} (new pid: {pid})" in log.read_text()
               for wid, pid in after.items())


def test_a_killed_worker_is_replaced_and_the_service_keeps_answering(uwsgi_server, tmp_path):
    stats_socket, log = tmp_path / STATS_SOCKET, tmp_path / "uwsgi.log"
    before = accepting_workers(stats_socket)
    victim, survivor = sorted(before)

    def replaced() -> dict[int, int] | None:
        workers = accepting_workers(stats_socket)
        return workers if workers.get(victim, before[victim]) != before[victim] else None

    os.kill(before[victim], signal.SIGKILL)
    assert [fetch(f"{uwsgi_server}/login")[0] for _ in range(10)] == [200] * 10

    after = wait_until(
        replaced, 30, lambda: f"worker {victim} was not replaced:\n{log.read_text()}"
    )
    assert after[survivor] == before[survivor]
    assert f"worker {victim} (pid: {before[victim]}) died, killed by signal 9" in log.read_text()

    # The new worker serves too: ask in parallel until it has answered (bounded).
    start = len(log.read_text())
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(25):
            assert set(pool.map(lambda _: fetch(f"{uwsgi_server}/login")[0], range(8))) == {200}
            if str(after[victim]) in served_by(log, start):
                break
        else:
            pytest.fail(f"worker {victim} (pid {after[victim]}) never answered")


def test_sigterm_lets_a_request_in_flight_finish(uwsgi_server, tmp_path):
    """Stopping the service lets the requests in progress finish instead of cutting them."""
    stats_socket, log = tmp_path / STATS_SOCKET, tmp_path / "uwsgi.log"
    stats = read_stats(stats_socket)
    # systemd's stop sends SIGTERM to every process of the service, the master first.
    processes = [stats["pid"], *(worker["pid"] for worker in stats["workers"])]
    body = b"email=nobody%40example.com&password=not-the-password"
    head = (
        b"POST /login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    with socket.create_connection(("127.0.0.1", urlsplit(uwsgi_server).port), timeout=10) as conn:
        conn.sendall(head + body[:10])  # the app now waits for the rest of the form
        wait_until(
            lambda: any(w["status"] == "busy" for w in read_stats(stats_socket)["workers"]),
            10, lambda: "no worker took the request",
        )
        for pid in processes:
            os.kill(pid, signal.SIGTERM)
        wait_until(lambda: "graceful shutdown triggered" in log.read_text(), 10, log.read_text)
        conn.sendall(body[10:])
        response = b""
        while chunk := conn.recv(65536):
            response += chunk

    # The whole answer, a page: the form has no CSRF token, so the app refuses it (400).
    assert response.startswith((b"HTTP/1.1 400 ", b"HTTP/1.1 200 ")), response[:500]
    assert response.rstrip().endswith(b"</html>")


@pytest.mark.parametrize("signalled", ["master", "every process"])
def test_sigterm_stops_uwsgi_while_a_worker_is_still_loading_the_app(
    uwsgi_process, tmp_path, signalled
):
    """A stop that comes while a respawned worker loads the app (after a crash, a recycle or a
    chain reload) ends uWSGI at once: such a worker used to ignore it and then serve on, and
    the master waited for it forever."""
    _, process = uwsgi_process
    stats_socket, log = tmp_path / STATS_SOCKET, tmp_path / "uwsgi.log"
    before = accepting_workers(stats_socket)
    victim = min(before)
    os.kill(before[victim], signal.SIGKILL)
    respawned = wait_until(
        lambda: re.search(rf"Respawned uWSGI worker {victim} \(new pid: (\d+)\)", log.read_text()),
        10, log.read_text,
    )
    # The new process has begun (its post-fork hooks ran: 2 workers at start, now a third)...
    wait_until(lambda: log.read_text().count(POST_FORK) == WORKERS + 1, 10, log.read_text)
    # ...and has not loaded the app yet (that takes the better part of a second).
    assert victim not in accepting_workers(stats_socket)
    master = read_stats(stats_socket)["pid"]
    pids = [master] if signalled == "master" else [master, *before.values(), int(respawned[1])]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # the killed worker
            os.kill(pid, signal.SIGTERM)
    try:
        status = process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"uWSGI did not stop:\n{log.read_text()[-3000:]}")
    assert status == 0, log.read_text()
    assert "goodbye to uWSGI" in log.read_text()


def uwsgi_protocol_get(socket_path: Path, path: str) -> bytes:
    """Send a GET in the uwsgi protocol, as nginx's `uwsgi_pass` does; return the raw response."""
    variables = {
        "REQUEST_METHOD": "GET", "REQUEST_URI": path, "PATH_INFO": path, "QUERY_STRING": "",
        "SCRIPT_NAME": "", "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "localhost",
        "SERVER_PORT": "80", "HTTP_HOST": "localhost", "REMOTE_ADDR": "127.0.0.1",
    }
    packet = b"".join(
        struct.pack("<H", len(key)) + key + struct.pack("<H", len(value)) + value
        for key, value in ((k.encode(), v.encode()) for k, v in variables.items())
    )
    with socket.socket(socket.AF_UNIX) as conn:
        conn.settimeout(5)
        conn.connect(str(socket_path))
        conn.sendall(struct.pack("<BHB", 0, len(packet), 0) + packet)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_sched_socket_serves_the_uwsgi_protocol_for_nginx(database_url, tmp_path):
    """With SCHED_SOCKET, uWSGI speaks the uwsgi protocol on that unix socket, and no HTTP."""
    uwsgi_socket = tmp_path / "uwsgi.sock"
    env = {
        **serving_env(tmp_path),
        "SCHED_SOCKET": str(uwsgi_socket),
        "SCHED_HTTP": f"127.0.0.1:{free_port()}",  # ignored: the socket replaces it
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET,
        "SECURITY_PASSWORD_SALT": SECRET[::-1],
    }
    process = start_uwsgi(env, tmp_path)
    try:
        # nginx's group may connect; others may not.
        assert stat.S_IMODE(uwsgi_socket.stat().st_mode) == 0o660
        sockets = read_stats(tmp_path / STATS_SOCKET)["sockets"]
        assert [(s["name"], s["proto"]) for s in sockets] == [(str(uwsgi_socket), "uwsgi")]

        response = uwsgi_protocol_get(uwsgi_socket, "/login")
        assert response.startswith(b"HTTP/1.1 200 OK\r\n") and b'name="csrf_token"' in response
        response = uwsgi_protocol_get(uwsgi_socket, "/static/css/app.css")
        assert response.startswith(b"HTTP/1.1 200 OK\r\n") and b"\r\nExpires: " in response
    finally:
        stop_uwsgi(process, tmp_path)


def test_in_development_what_the_app_writes_is_its_owners_alone(app, database_url, tmp_path):
    """`make run`'s instance folder holds the database and the mails with their reset links."""
    from config import write_dev_secrets
    from tests.accounts.test_abuse import post_reset_request

    instance = tmp_path / "instance"
    secrets_file = write_dev_secrets(instance)
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    make_user("dev@example.com")
    port = free_port()
    process = start_uwsgi({
        **serving_env(tmp_path),
        "SCHED_CONFIG": "development",
        "SCHED_INSTANCE_PATH": str(instance),
        "SCHED_HTTP": f"127.0.0.1:{port}",
        "DATABASE_URL": database_url,
        "SCHED_REMINDERS": "off",
    }, tmp_path)
    try:
        assert post_reset_request(port, "dev@example.com") == 200
        mails = wait_until(lambda: list((instance / "mail").glob("*")), 10,
                           lambda: "the development mail was not written")
    finally:
        stop_uwsgi(process, tmp_path)
    for path in [instance / "mail", *mails]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, (path, oct(path.stat().st_mode))
