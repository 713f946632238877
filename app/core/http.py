"""What every response carries and where requests come from: security headers, the proxy in
front, and the health check that load balancers and monitors ask.

The Content-Security-Policy allows scripts and styles from this site only. The admin panel's few
inline scripts (Flask-Admin's) carry a per-request nonce; no page may run any other inline
script, so an injected ``<script>`` does not run even if it got past the escaping.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, Flask, current_app, g, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix

from app.extensions import db

bp = Blueprint("http", __name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'{nonce}; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def csp_nonce() -> str:
    """This request's nonce for the inline scripts we allow (Flask-Admin's)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def set_security_headers(response):
    nonce = g.get("csp_nonce")
    policy = CONTENT_SECURITY_POLICY.format(nonce=f" 'nonce-{nonce}'" if nonce else "")
    response.headers.setdefault("Content-Security-Policy", policy)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    hsts = int(current_app.config.get("HSTS_SECONDS") or 0)
    if hsts and request.is_secure:
        response.headers.setdefault(
            "Strict-Transport-Security", f"max-age={hsts}; includeSubDomains"
        )
    return response


@bp.get("/healthz")
def healthz():
    """200 when the app and its database answer, 503 otherwise; no details for strangers."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="unavailable"), 503, {"Cache-Control": "no-store"}
    return jsonify(status="ok"), 200, {"Cache-Control": "no-store"}


def init_http(app: Flask) -> None:
    if app.config.get("SECURITY_HEADERS", True):
        app.after_request(set_security_headers)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        # The client's address, scheme and host as the proxies in front saw them; only as many
        # hops as there are proxies we run, so a client cannot forge its own X-Forwarded-For.
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )
    app.register_blueprint(bp)
