"""Forwarded headers a client writes itself, sent to real uWSGI from uwsgi.ini on its HTTP
socket, as the site is served without nginx (issue 21): none of them is believed unless a proxy
is configured (SCHED_TRUSTED_PROXIES). Behind nginx, tests/deploy/test_nginx.py shows the real
client's address and HTTPS arriving.
"""

from __future__ import annotations

import contextlib
import http.client
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.extensions import db
from tests.core.test_serving import SECRET, serving_env, start_uwsgi, stop_uwsgi
from tests.support.browser import csrf_token_from
from tests.support.network import free_port
from tests.support.redis_server import redis_server

pytestmark = pytest.mark.uwsgi

WRONG = "not the password at all"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# Every header some server or library takes the client's address, scheme or host from.
FORGED_SCHEME_AND_HOST = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Ssl": "on",  # uWSGI itself reads this one, and X-Forwarded-Proto
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Port": "443",
    "Forwarded": "for=198.51.100.1;proto=https;host=evil.example",
}


def forged_address(n: int) -> dict[str, str]:
    address = f"198.51.100.{n}"
    return {"X-Forwarded-For": address, "X-Real-IP": address, "Forwarded": f"for={address}"}


@contextlib.contextmanager
def served_over_http(database_url: str, tmp_path: Path, **more_env: str) -> Iterator[int]:
    """uWSGI on its HTTP socket in production settings, its rate-limit counts in a Redis that
    both workers share (so that a limit is exact); yield its port."""
    port = free_port()
    with redis_server(tmp_path) as redis_url:
        env = {
            **serving_env(tmp_path),
            "SCHED_HTTP": f"127.0.0.1:{port}",
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET,
            "SECURITY_PASSWORD_SALT": SECRET[::-1],
            "SCHED_RATELIMIT_STORAGE_URI": redis_url,
            "SCHED_REMINDERS": "off",
        }
        env.pop("SCHED_TRUSTED_PROXIES", None)  # the production default, unless given below
        env.update(more_env)
        process = start_uwsgi(env, tmp_path)
        try:
            yield port
        finally:
            stop_uwsgi(process, tmp_path)


def send(port: int, method: str, path: str, *, headers: dict | None = None,
         body: str | None = None) -> tuple[int, Message, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:  # a connection each: uWSGI closes it after the answer
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, answer.headers, answer.read().decode()
    finally:
        connection.close()


def login_form(port: int) -> tuple[str, str]:
    """The login form as a browser gets it: its session cookie and CSRF token."""
    _, headers, page = send(port, "GET", "/login")
    return headers["Set-Cookie"].split(";", 1)[0], csrf_token_from(page)


def failed_login_addresses() -> list[str]:
    db.session.rollback()  # see what uWSGI committed since
    return db.session.scalars(
        select(AuditEntry.ip).where(AuditEntry.action == "login_failed").order_by(AuditEntry.id)
    ).all()


def test_a_forged_forwarded_for_neither_resets_the_login_limit_nor_reaches_the_audit_log(
    user, database_url, tmp_path
):
    """The report's attack: 30 failed logins, each with an address of its own, were all let
    through. One address gets 10 a minute, whatever it writes in X-Forwarded-For."""
    with served_over_http(database_url, tmp_path) as port:
        cookie, token = login_form(port)
        statuses = []
        for n, email in enumerate([user.email] * 3 + ["nobody@example.com"] * 27):
            status, _, _ = send(port, "POST", "/login", headers={
                **FORM, "Cookie": cookie, **forged_address(n),
            }, body=urlencode({"csrf_token": token, "email": email, "password": WRONG}))
            statuses.append(status)
    assert statuses == [400] * 10 + [429] * 20
    # The owner's three failures, each from the address that really sent it.
    assert failed_login_addresses() == ["127.0.0.1"] * 3


@pytest.mark.parametrize("trusted_proxies", [None, "0"], ids=["production-default", "none"])
def test_forged_forwarded_scheme_and_host_are_not_believed(database_url, tmp_path, trusted_proxies):
    """Plain HTTP stays plain HTTP (no HSTS, no https:// address) and the host stays the one
    asked for: in production settings, and with no proxy trusted at all (uWSGI itself takes the
    scheme from X-Forwarded-Proto and X-Forwarded-Ssl otherwise)."""
    more_env = {} if trusted_proxies is None else {"SCHED_TRUSTED_PROXIES": trusted_proxies}
    with served_over_http(database_url, tmp_path, **more_env) as port:
        status, headers, _ = send(port, "GET", "/login", headers=FORGED_SCHEME_AND_HOST)
        assert status == 200 and "Strict-Transport-Security" not in headers
        # Werkzeug's slash redirect is an absolute address, built from the scheme and host.
        status, headers, _ = send(port, "GET", "/appointments", headers=FORGED_SCHEME_AND_HOST)
    assert status == 308
    assert headers["Location"] == f"http://127.0.0.1:{port}/appointments/"


def test_a_proxy_configured_in_front_of_the_http_socket_is_believed(user, database_url, tmp_path):
    """SCHED_TRUSTED_PROXIES=1 says an HTTP proxy stands in front (the load tests play one):
    then its last X-Forwarded-For entry and its X-Forwarded-Proto count."""
    with served_over_http(database_url, tmp_path, SCHED_TRUSTED_PROXIES="1") as port:
        cookie, token = login_form(port)
        status, _, _ = send(port, "POST", "/login", headers={
            **FORM, "Cookie": cookie, "X-Forwarded-For": "10.0.0.1, 203.0.113.7",
        }, body=urlencode({"csrf_token": token, "email": user.email, "password": WRONG}))
        assert status == 400
        _, headers, _ = send(port, "GET", "/login", headers={"X-Forwarded-Proto": "https"})
        assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert failed_login_addresses() == ["203.0.113.7"]
