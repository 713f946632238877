"""Debian's nginx in front of real uWSGI, through the shipped site deploy/nginx/sched.conf.

The site file is used as it ships, with only its listen addresses, certificate, static folder,
socket and access log's path replaced (``site_for_this_machine``). nginx runs from a folder of its
own as the current user, on loopback ports; uWSGI starts from uwsgi.ini with SCHED_SOCKET, as in
production. If nginx or openssl is missing the tests fail, loudly, instead of being skipped.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import Message
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.core import test_serving as serving
from tests.core.test_serving import serving_env
from tests.support.factories import make_feed_token, make_user
from tests.support.network import free_port
from tests.support.paths import PROJECT_DIR
from tests.support.redis_server import redis_server

SITE = PROJECT_DIR / "deploy" / "nginx" / "sched.conf"
NGINX = os.environ.get("NGINX", "/usr/sbin/nginx")
NGINX_CONF_DIR = Path("/etc/nginx")  # the Debian package's mime.types and uwsgi_params
HOST = "sched.example.org"  # the server_name of the shipped site
SECRET = "nginx-test-secret-0123456789-abcdefghijklmnop"
START_TIMEOUT = 30  # seconds
STOP_TIMEOUT = 15
START_ATTEMPTS = 3  # another program may take a free port between our check and nginx's bind
SECURITY_HEADERS = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
    "Strict-Transport-Security",
)

pytestmark = pytest.mark.uwsgi


def site_for_this_machine(
    text: str, *, http_port: int, https_port: int, cert: Path, key: Path, uwsgi_socket: Path,
    access_log: Path,
) -> str:
    """Point the shipped site at loopback ports, a test certificate, the checkout, a socket and
    an access log of the test's."""
    replacements = {
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        f"ssl_certificate /etc/letsencrypt/live/{HOST}/fullchain.pem;": f"ssl_certificate {cert};",
        f"ssl_certificate_key /etc/letsencrypt/live/{HOST}/privkey.pem;":
            f"ssl_certificate_key {key};",
        "alias /srv/sched/app/static/;": f"alias {PROJECT_DIR}/app/static/;",
        "uwsgi_pass unix:/run/sched/uwsgi.sock;": f"uwsgi_pass unix:{uwsgi_socket};",
    }
    for old, new in replacements.items():
        # Anything else would test a site other than the one we ship.
        assert text.count(old) == 1, f"{SITE.name} no longer has {old!r} once; update this test"
        text = text.replace(old, new)
    shipped_log = "access_log /var/log/nginx/sched.access.log sched;"
    assert text.count(shipped_log) == 2, f"{SITE.name}: both servers must log with {shipped_log!r}"
    return text.replace(shipped_log, f"access_log {access_log} sched;")


def nginx_conf(directory: Path) -> str:
    """The main configuration around the site (nginx.conf's part), every file in ``directory``."""
    # As root, nginx would run its workers as nobody, who may not enter pytest's folders (mode
    # 700); as anyone else a `user` line is ignored with a warning.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}daemon off;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log notice;
events {{
    worker_connections 64;
}}
http {{
    include mime.types;
    default_type application/octet-stream;
    access_log {directory}/access.log;
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    include sched.conf;
}}
"""


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and the site's name, valid for a day, and its key."""
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.fail("openssl is missing: install Debian's `openssl` package")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", f"subjectAltName=IP:127.0.0.1,DNS:{HOST}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30,
    )
    return cert, key


def stop(process: subprocess.Popen, sig: int, name: str, log: Path) -> None:
    """Signal ``process`` and wait for it (bounded); fail with its log unless it exits cleanly."""
    process.send_signal(sig)
    try:
        code = process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"{name} did not stop within {STOP_TIMEOUT} s:\n{log.read_text()}")
    assert code == 0, f"{name} exited with {code}:\n{log.read_text()}"


def start_uwsgi(
    directory: Path, database_url: str, uwsgi_socket: Path, **more_env: str
) -> subprocess.Popen:
    """uWSGI from uwsgi.ini on SCHED_SOCKET, in production settings; wait for every worker."""
    shutil.copytree(PROJECT_DIR / "translations", directory / "translations")
    env = serving_env(directory)
    env.update(
        SCHED_SOCKET=str(uwsgi_socket),
        SCHED_TRANSLATIONS_DIR=str(directory / "translations"),
        SCHED_ALLOWED_HOSTS=HOST,
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET,
        SECURITY_PASSWORD_SALT=SECRET[::-1],
        **more_env,
    )
    return serving.start_uwsgi(env, directory)


def start_nginx(directory: Path, uwsgi_socket: Path) -> tuple[subprocess.Popen, int, int]:
    """nginx with the shipped site on two free loopback ports; return it and the ports."""
    if not Path(NGINX).exists():
        pytest.fail(f"{NGINX} is missing: `make system-packages` installs nginx-light")
    cert, key = self_signed_certificate(directory)
    for name in ("mime.types", "uwsgi_params"):  # found next to nginx.conf, as in /etc/nginx
        shutil.copy(NGINX_CONF_DIR / name, directory / name)
    (directory / "nginx.conf").write_text(nginx_conf(directory))
    log, error_log = directory / "nginx.out", directory / "error.log"
    for _attempt in range(START_ATTEMPTS):
        http_port, https_port = free_port(), free_port()
        (directory / "sched.conf").write_text(site_for_this_machine(
            SITE.read_text(), http_port=http_port, https_port=https_port,
            cert=cert, key=key, uwsgi_socket=uwsgi_socket,
            access_log=directory / "sched.access.log",
        ))
        error_log.write_text("")
        with open(log, "wb") as log_file:
            process = subprocess.Popen(
                [NGINX, "-p", f"{directory}/", "-c", str(directory / "nginx.conf")],
                stdout=log_file, stderr=subprocess.STDOUT,
            )
        # The master logs this once it has bound every port and started its worker.
        deadline = time.monotonic() + START_TIMEOUT
        while "start worker process " not in error_log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        else:
            return process, http_port, https_port
        if process.poll() is None:
            process.kill()
        process.wait()
        if "Address already in use" not in log.read_text() + error_log.read_text():
            break
    pytest.fail(f"nginx did not start:\n{log.read_text()}\n{error_log.read_text()}")


@dataclass
class Site:
    """nginx serving the app over HTTP and HTTPS on loopback, and uWSGI's log behind it."""

    http_port: int
    https_port: int
    tls: ssl.SSLContext
    uwsgi_log: Path
    access_log: Path  # nginx's, for the site

    def uwsgi_logged(self, text: str) -> str:
        """uWSGI's log once it shows ``text``: a worker logs a request after answering it."""
        deadline = time.monotonic() + 5
        while text not in (log := self.uwsgi_log.read_text()):
            assert time.monotonic() < deadline, f"uWSGI never logged {text!r}:\n{log}"
            time.sleep(0.05)
        return log

    def uwsgi_requests(self) -> str:
        """uWSGI's log, once it shows a request made after every earlier one."""
        probe = f"/login?probe={secrets.token_hex(8)}"
        assert self.get(probe).status == 200
        return self.uwsgi_logged(probe)

    def get(self, path: str, **kwargs) -> Answer:
        return self.request("GET", path, **kwargs)

    def request(
        self, method: str, path: str, *, https: bool = True, headers: dict | None = None,
        body: bytes | None = None, source: str | None = None,
    ) -> Answer:
        """Send a request from the address ``source`` (a loopback address other than nginx's
        own 127.0.0.1, say), or from 127.0.0.1."""
        source_address = (source, 0) if source else None
        if https:
            connection = http.client.HTTPSConnection(
                "127.0.0.1", self.https_port, context=self.tls, timeout=10,
                source_address=source_address,
            )
        else:
            connection = http.client.HTTPConnection(
                "127.0.0.1", self.http_port, timeout=10, source_address=source_address
            )
        try:
            connection.request(method, path, body=body, headers={"Host": HOST, **(headers or {})})
            response = connection.getresponse()
            return Answer(response.status, response.headers, response.read().decode())
        finally:
            connection.close()


@dataclass
class Answer:
    status: int
    headers: Message
    body: str

    def header(self, name: str) -> str:
        """The value of a header that must be there exactly once."""
        values = self.headers.get_all(name) or []
        assert len(values) == 1, f"{name}: {values}"
        return values[0]


@contextlib.contextmanager
def serve_site(database_url: str, tmp_path: Path, **more_env: str) -> Iterator[Site]:
    uwsgi_socket = tmp_path / "uwsgi.sock"
    uwsgi = start_uwsgi(tmp_path, database_url, uwsgi_socket, **more_env)
    try:
        nginx, http_port, https_port = start_nginx(tmp_path, uwsgi_socket)
        try:
            tls = ssl.create_default_context(cafile=tmp_path / "cert.pem")
            yield Site(
                http_port, https_port, tls, tmp_path / "uwsgi.log", tmp_path / "sched.access.log"
            )
        finally:
            stop(nginx, signal.SIGQUIT, "nginx", tmp_path / "error.log")  # graceful shutdown
    finally:
        stop(uwsgi, signal.SIGTERM, "uWSGI", tmp_path / "uwsgi.log")


@pytest.fixture
def site(database_url, tmp_path) -> Iterator[Site]:
    with serve_site(database_url, tmp_path) as site:
        yield site


def assert_security_headers(answer: Answer) -> None:
    """Each security header once, from the app or else from nginx."""
    assert answer.header("X-Content-Type-Options") == "nosniff"
    assert answer.header("X-Frame-Options") == "DENY"
    assert answer.header("Referrer-Policy") == "same-origin"
    assert "frame-ancestors 'none'" in answer.header("Content-Security-Policy")
    max_age = re.fullmatch(r"max-age=(\d+); includeSubDomains",
                           answer.header("Strict-Transport-Security"))
    assert max_age and int(max_age.group(1)) >= 180 * 24 * 3600


def test_pages_come_from_the_app_over_its_socket(site):
    answer = site.get("/login")
    assert answer.status == 200 and 'name="csrf_token"' in answer.body
    assert_security_headers(answer)
    # The app's own policy (with what its pages need), not nginx's fallback for static files.
    assert "script-src 'self'" in answer.header("Content-Security-Policy")
    assert answer.header("Server") == "nginx"  # server_tokens off: no version
    site.uwsgi_logged("GET /login ")


def test_static_files_come_from_disk_with_cache_headers(site):
    answer = site.get("/static/css/app.css")
    assert answer.status == 200
    assert answer.body == (PROJECT_DIR / "app" / "static" / "css" / "app.css").read_text()
    assert answer.header("Content-Type") == "text/css"
    assert answer.header("Cache-Control") == "max-age=86400"
    expires = parsedate_to_datetime(answer.header("Expires"))
    assert expires > datetime.now(timezone.utc) + timedelta(hours=23)
    assert_security_headers(answer)
    assert answer.header("Content-Security-Policy").startswith("default-src 'none'")

    # As pages link it: with its content's hash, kept a year.
    page = site.get("/login").body
    versioned = re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]+)"', page).group(1)
    answer = site.get(versioned)
    assert answer.status == 200 and answer.header("Cache-Control") == "max-age=31536000"
    assert_security_headers(answer)

    assert site.get("/static/css/no-such-file.css").status == 404
    assert "/static/" not in site.uwsgi_requests()  # nginx answered them all on its own


def test_neither_log_keeps_the_tokens_in_addresses(site, app):
    """A feed's token opens the feed, a reset link's token the account: nginx's access log and
    uWSGI's request log mask them, and nginx leaves out the Referer, which may carry them."""
    token = make_feed_token(make_user("feed@example.com"))
    reset_token = "reset-" + secrets.token_urlsafe(24) + ".more"
    assert site.get(f"/calendar/feed/{token}.ics").status == 200
    assert site.get(f"/calendar/feed/{token}.ics", https=False).status == 301
    assert site.get(f"/reset/{reset_token}").status == 302
    assert site.get("/login", headers={"Referer": f"https://{HOST}/reset/{reset_token}"}).status \
        == 200
    uwsgi_log = site.uwsgi_requests()  # after all of the above
    access_log = site.access_log.read_text()

    for log in (uwsgi_log, access_log):
        assert token not in log and reset_token not in log
    assert '"GET /calendar/feed/***.ics HTTP/1.1" 200 ' in access_log
    assert '"GET /calendar/feed/***.ics HTTP/1.1" 301 ' in access_log  # plain HTTP's server
    assert '"GET /reset/*** HTTP/1.1" 302 ' in access_log
    assert "GET /calendar/feed/***.ics => 200" in uwsgi_log
    assert "GET /reset/*** => 302" in uwsgi_log


def test_unknown_pages_get_the_apps_404(site):
    answer = site.get("/no-such-page")
    assert answer.status == 404 and "Page not found" in answer.body
    assert_security_headers(answer)
    assert "script-src 'self'" in answer.header("Content-Security-Policy")


def test_plain_http_moves_to_https(site):
    answer = site.get("/login?next=%2Fappointments%2F", https=False)
    assert answer.status == 301
    assert answer.header("Location") == f"https://{HOST}/login?next=%2Fappointments%2F"


def test_the_client_cannot_forge_the_forwarded_headers(site):
    # nginx replaces the client's X-Forwarded-Host (and the app believes none), so this passes
    # the app's SCHED_ALLOWED_HOSTS check...
    answer = site.get("/login", headers={"X-Forwarded-Host": "evil.example"})
    assert answer.status == 200
    # ...which does refuse a host that is not the site's.
    assert site.get("/login", headers={"Host": "evil.example"}).status == 400


def test_bodies_over_the_apps_limit_stop_at_nginx(site):
    answer = site.request(
        "POST", "/login", body=b"x" * (1024 * 1024 + 1),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 413
    assert_security_headers(answer)  # nginx's own error page gets them too
    assert "POST /login" not in site.uwsgi_requests()


def test_login_limits_hold_across_workers_and_forged_addresses(database_url, tmp_path):
    """Redis shares the count between uWSGI's workers; nginx's X-Forwarded-For cannot be
    forged, so a client that sends its own header each time is still one address."""
    with redis_server(tmp_path) as redis_url, serve_site(
        database_url, tmp_path, SCHED_RATELIMIT_STORAGE_URI=redis_url
    ) as site:
        form = site.get("/login")
        cookie = form.headers["Set-Cookie"].split(";", 1)[0]
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.body).group(1)
        body = urlencode({"csrf_token": token, "email": "nobody@example.com",
                          "password": "not the password"}).encode()
        statuses = []
        for n in range(11):
            answer = site.request("POST", "/login", body=body, headers={
                "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie,
                "Referer": f"https://{HOST}:{site.https_port}/login",  # Flask-WTF, over HTTPS
                "X-Forwarded-For": f"198.51.100.{n}", "X-Real-IP": f"198.51.100.{n}",
            })
            statuses.append(answer.status)
        assert statuses == [400] * 10 + [429]  # refused logins, then the limit
        assert int(answer.header("Retry-After")) >= 1
        assert "Too many attempts from your address" in answer.body


def test_the_app_gets_the_clients_address_and_https_from_nginx(site, app):
    """The real client's address and scheme reach the app through the uwsgi protocol, whatever
    forwarded headers the client adds: a client on 127.0.0.2 (nginx itself is 127.0.0.1)."""
    from sqlalchemy import select

    from app.audit.models import AuditEntry
    from app.extensions import db

    user = make_user("owner@example.com")
    client = "127.0.0.2"
    forged = {
        "X-Forwarded-For": "198.51.100.7", "X-Real-IP": "198.51.100.7",
        "Forwarded": "for=198.51.100.7;proto=http;host=evil.example",
        "X-Forwarded-Proto": "http", "X-Forwarded-Ssl": "off",
        "X-Forwarded-Host": "evil.example", "X-Forwarded-Port": "80",
    }
    form = site.get("/login", source=client)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.body).group(1)
    answer = site.request("POST", "/login", source=client, headers={
        **forged, "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": form.headers["Set-Cookie"].split(";", 1)[0],
        "Referer": f"https://{HOST}:{site.https_port}/login",  # Flask-WTF, over HTTPS
    }, body=urlencode({"csrf_token": token, "email": user.email,
                       "password": "not the password"}).encode())
    assert answer.status == 400 and "Authentication failed" in answer.body
    db.session.rollback()  # see what uWSGI committed
    assert db.session.scalars(
        select(AuditEntry.ip).where(AuditEntry.action == "login_failed")
    ).all() == [client]

    # Werkzeug's slash redirect is an absolute address: HTTPS, the site's host and port.
    answer = site.get("/appointments", source=client, headers=forged)
    assert answer.status == 308
    assert answer.header("Location") == f"https://{HOST}:{site.https_port}/appointments/"
    # The app's own HSTS header, not nginx's fallback for answers without one: they differ in
    # nothing but the app's Content-Security-Policy beside it.
    answer = site.get("/login", source=client, headers=forged)
    assert "script-src 'self'" in answer.header("Content-Security-Policy")
    assert answer.header("Strict-Transport-Security").startswith("max-age=31536000")
