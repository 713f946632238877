"""Security headers, the proxy in front, trusted hosts, the health check and check-deploy."""

from __future__ import annotations

import re
import secrets

import pytest
from sqlalchemy import text

from app import create_app
from app.core.deploy import deploy_problems
from app.extensions import db
from tests.support.factories import PASSWORD, make_user


def test_every_page_carries_the_security_headers(client):
    response = client.get("/login")
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers  # plain HTTP in tests; HTTPS gets it below
    # No inline script on the public pages, nor inline event handlers.
    page = response.get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert not re.search(r"\son[a-z]+=", page)


def test_the_admin_panels_inline_scripts_carry_this_requests_nonce(app, browser):
    make_user("ada@example.com", roles=("admin",))
    browser.login("ada@example.com")
    response = browser.get("/admin/users/")
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    page = response.get_data(as_text=True)
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page)
    assert all(f'nonce="{nonce}"' in attributes for attributes in inline)
    assert not re.search(r"\sonclick=\"return modelActions", page)  # bound by js/admin.js
    other = browser.get("/admin/users/").headers["Content-Security-Policy"]
    assert nonce not in other  # a fresh one every time


@pytest.fixture
def production(monkeypatch, database_url):
    monkeypatch.setenv("SECRET_KEY", secrets.token_urlsafe(48))
    monkeypatch.setenv("SECURITY_PASSWORD_SALT", secrets.token_urlsafe(48))

    def build(**settings):
        return create_app("production", {
            "SQLALCHEMY_DATABASE_URI": database_url, "SITE_URL": "https://sched.example.org",
            **settings,
        })

    return build


def test_production_sends_hsts_over_https_and_trusts_no_forwarded_header(production):
    """Behind nginx the uwsgi protocol tells the scheme and address (the test client: base_url,
    REMOTE_ADDR); a client's X-Forwarded-* headers count for nothing."""
    app = production(TRUSTED_HOSTS=["sched.example.org"])
    seen = {}

    @app.get("/_whoami")
    def whoami():
        from flask import request

        seen["addr"], seen["scheme"] = request.remote_addr, request.scheme
        seen["forwarded_for"] = request.headers.get("X-Forwarded-For")
        return ""

    client = app.test_client()
    response = client.get("/login", base_url="https://sched.example.org")
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie

    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7",
              "X-Forwarded-Host": "evil.example", "Host": "sched.example.org"}
    assert "Strict-Transport-Security" not in client.get("/login", headers=forged).headers
    client.get("/_whoami", headers=forged, environ_base={"REMOTE_ADDR": "192.0.2.1"})
    assert seen == {"addr": "192.0.2.1", "scheme": "http", "forwarded_for": None}


def test_an_http_proxy_configured_in_front_is_trusted_for_one_hop(production):
    app = production(TRUSTED_HOSTS=["sched.example.org"], TRUSTED_PROXIES=1)
    seen = {}

    @app.get("/_whoami")
    def whoami():
        from flask import request

        seen["addr"] = request.remote_addr
        return ""

    client = app.test_client()
    behind_the_proxy = {
        "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7", "Host": "sched.example.org",
    }
    response = client.get("/login", headers=behind_the_proxy)
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")

    # A client that forges its own X-Forwarded-For: the proxy appends the real address last,
    # and only that last hop is believed.
    client.get("/_whoami", headers={**behind_the_proxy,
                                    "X-Forwarded-For": "10.0.0.1, 203.0.113.7"})
    assert seen["addr"] == "203.0.113.7"


def test_production_answers_only_its_own_host_names(production):
    app = production(TRUSTED_HOSTS=["sched.example.org"])
    client = app.test_client()
    assert client.get("/login", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/login", headers={"Host": "sched.example.org"}).status_code == 200


def test_healthz_answers_when_the_database_does(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_is_503_when_the_database_is_gone(tmp_path):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/db"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable"}


def check_deploy(app):
    return app.test_cli_runner().invoke(args=["check-deploy"])


def test_check_deploy_passes_a_safe_production_setup(production):
    result = check_deploy(production(TRUSTED_HOSTS=["sched.example.org"]))
    assert result.exit_code == 0, result.output
    assert "No deployment problems" in result.output


@pytest.mark.parametrize("settings, complaint", [
    ({"DEBUG": True}, "DEBUG is on"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY is missing or weak"),
    ({"SECURITY_PASSWORD_SALT": "a" * 64}, "SECURITY_PASSWORD_SALT is missing or weak"),
    ({"SESSION_COOKIE_SECURE": False}, "SESSION_COOKIE_SECURE is off"),
    ({"SESSION_COOKIE_HTTPONLY": False}, "SESSION_COOKIE_HTTPONLY is off"),
    ({"REMEMBER_COOKIE_SAMESITE": None}, "REMEMBER_COOKIE_SAMESITE is not Lax or Strict"),
    ({"TRUSTED_HOSTS": None}, "No trusted hosts"),
    ({"WTF_CSRF_ENABLED": False}, "CSRF protection is off"),
    ({"SECURITY_HEADERS": False}, "Security headers are off"),
    ({"HSTS_SECONDS": 0}, "HSTS is off"),
    # Forwarded headers believed where clients reach uWSGI directly (issue 21).
    ({"TRUSTED_PROXIES": 1, "UWSGI_SOCKET": None, "UWSGI_HTTP_SOCKET": "0.0.0.0:5000"},
     "SCHED_TRUSTED_PROXIES is 1 while uWSGI's HTTP socket (0.0.0.0:5000) is open"),
    ({"TRUSTED_PROXIES": 2, "UWSGI_SOCKET": None, "UWSGI_HTTP_SOCKET": ":80"},
     "forges X-Forwarded-For"),
    ({"UWSGI_SOCKET": "0.0.0.0:3031"}, "SCHED_SOCKET (0.0.0.0:3031) listens on the network"),
    # Links in e-mails and the UIDs of every calendar event (issue 19).
    ({"SITE_URL": "http://127.0.0.1:5000"}, "SITE_URL is not the site's https address"),
    ({"SITE_URL": "http://sched.example.org"}, "SITE_URL is not the site's https address"),
])
def test_check_deploy_names_each_unsafe_setting_and_fails(production, settings, complaint):
    result = check_deploy(production(**{"TRUSTED_HOSTS": ["sched.example.org"], **settings}))
    assert result.exit_code == 1
    assert complaint in result.output


@pytest.mark.parametrize("settings", [
    {"UWSGI_SOCKET": "/run/sched/uwsgi.sock"},  # nginx, as deploy/ has it
    {"UWSGI_SOCKET": "/run/sched/uwsgi.sock", "TRUSTED_PROXIES": 1},  # nginx replaces them
    {"UWSGI_SOCKET": "127.0.0.1:3031"},
    {"UWSGI_SOCKET": None, "UWSGI_HTTP_SOCKET": "0.0.0.0:5000"},  # no header believed
    {"UWSGI_SOCKET": None, "UWSGI_HTTP_SOCKET": "127.0.0.1:5000", "TRUSTED_PROXIES": 1},
    {"UWSGI_SOCKET": None, "UWSGI_HTTP_SOCKET": "[::1]:5000", "TRUSTED_PROXIES": 1},
])
def test_check_deploy_accepts_forwarding_that_clients_cannot_reach(production, settings):
    result = check_deploy(production(TRUSTED_HOSTS=["sched.example.org"], **settings))
    assert result.exit_code == 0, result.output


def test_the_development_and_test_settings_are_not_fit_for_production(app):
    problems = deploy_problems(app.config)
    assert any("TESTING is on" in p for p in problems)
    assert any("SECRET_KEY" in p for p in problems)


def test_no_password_or_secret_reaches_the_logs(app, browser, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    make_user("lena@example.com")
    browser.submit("/login", {"email": "lena@example.com", "password": "wrong password 123"})
    browser.login("lena@example.com")
    changed = browser.submit("/change", {
        "password": PASSWORD, "new_password": "another long passphrase",
        "new_password_confirm": "another long passphrase",
    })
    assert changed.status_code == 302
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in ("wrong password 123", "another long passphrase", PASSWORD, app.config["SECRET_KEY"],
                   app.config["SECURITY_PASSWORD_SALT"]):
        assert secret not in logged
