"""What every response carries and where requests come from: security headers, the proxy in
front, the health check that load balancers and monitors ask, and what a request may carry
(form data or JSON, ids within the database's range, no control character in an address).

The Content-Security-Policy allows scripts and styles from this site only. The admin panel's few
inline scripts (Flask-Admin's) carry a per-request nonce; no page may run any other inline
script, so an injected ``<script>`` does not run even if it got past the escaping.
"""

from __future__ import annotations

import secrets

import flask
from flask import Blueprint, Flask, abort, current_app, g, jsonify, request
from flask_babel import gettext
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import BadRequest
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from app.core.db import MAX_INT
from app.core.validators import has_control_characters
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


# --- What a request may carry ----------------------------------------------------------------
# Pages read forms, as browsers send them; only Flask-Security's views also read JSON (its API).
# A row id in a URL is a number from 1 to MAX_INT. No address may hold a control character,
# neither the URL nor a return address a form carries: PostgreSQL refuses NUL in text, and a
# line break in a redirect would end its Location header (Flask-Admin lets one through).

FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
JSON_BLUEPRINTS = frozenset({"security"})
# Where forms carry the address to go back to: Flask-Security's and Flask-Admin's.
RETURN_ADDRESS_FIELDS = ("next", "url")


class Request(flask.Request):
    """Flask's request, with our words for a JSON body that cannot be read."""

    def on_json_loading_failed(self, e: ValueError | None):
        if e is None:  # not sent as JSON: Werkzeug's 415
            return super().on_json_loading_failed(e)
        raise BadRequest(gettext("The request body is not valid JSON."))

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True):
        """Return the JSON body, which must be an object: a form's fields by name."""
        data = super().get_json(force=force, silent=silent, cache=cache)
        if data is None or isinstance(data, dict):
            return data
        if silent:
            return None
        raise BadRequest(gettext("The request body is not a JSON object."))


class IdConverter(IntegerConverter):
    """``<id:name>`` in a route: a row id, 1 to MAX_INT; any other number matches no page."""

    def __init__(self, map, *args, **kwargs) -> None:
        super().__init__(map, min=1, max=MAX_INT)


def page_or_404(max_page: int = MAX_INT) -> int:
    """Read ?page=N, 1 when there is none; anything but a number from 1 to max_page is a 404."""
    value = request.args.get("page", "1")
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(max_page)):
        abort(404)
    page = int(value)
    if not 1 <= page <= max_page:
        abort(404)
    return page


def refuse_unreadable_requests() -> None:
    """Answer 400 to a control character in an address, 415 to a body the page does not read."""
    if request.routing_exception is not None:
        return  # no such page (404), or not that method (405): that answer comes first
    addresses = [request.path, *(text for pair in request.args.items(multi=True) for text in pair)]
    if request.mimetype in FORM_MIMETYPES:
        addresses += [
            value for name in RETURN_ADDRESS_FIELDS for value in request.form.getlist(name)
        ]
    if any(has_control_characters(text) for text in addresses):
        abort(400, description=gettext(
            "The address contains an invisible control character. Remove it."
        ))
    if request.method in ("GET", "HEAD", "OPTIONS") or not (
        request.content_length or request.mimetype
    ):
        return
    if request.mimetype in FORM_MIMETYPES:
        return
    if request.is_json and request.blueprint in JSON_BLUEPRINTS:
        return
    abort(415, description=gettext("This page accepts only form data, as a browser sends it."))


def init_http(app: Flask) -> None:
    app.request_class = Request
    app.url_map.converters["id"] = IdConverter
    app.before_request(refuse_unreadable_requests)
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
