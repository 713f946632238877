"""What every response carries and where requests come from: security headers, the proxy in
front, the health check that load balancers and monitors ask, and what a request may carry
(form data or JSON, ids within the database's range, no control character in an address or a
file name, an address and headers of a sensible size).

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
# The longest address (path and query string) and the most header bytes a request may carry,
# as nginx allows in front (its large_client_header_buffers: an 8 KiB request line; cookies and
# headers as much as uwsgi.ini gave them before). Standalone, uWSGI's buffer-size holds more,
# so that uWSGI hands such a request over and the app answers 414 or 431 rather than nothing.
MAX_ADDRESS_BYTES = 8 * 1024
MAX_HEADER_BYTES = 32 * 1024


class Request(flask.Request):
    """Flask's request, with our words for a JSON body that cannot be read."""

    def on_json_loading_failed(self, e: ValueError | None):
        if e is None:  # not sent as JSON: Werkzeug's 415
            return super().on_json_loading_failed(e)
        raise BadRequest(gettext("The request body is not valid JSON."))

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True):
        """Return the JSON body, which must be an object: a form's fields by name."""
        try:
            data = super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            # Thousands of nested brackets: Python's parser gives up (no ValueError, so
            # Werkzeug would let it through as a 500). No form's fields nest at all.
            if silent:
                return None
            raise BadRequest(gettext("The request body is nested too deeply to read.")) from None
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


def address_bytes() -> int:
    """The length of this request's address as sent, in bytes."""
    environ = request.environ
    # uWSGI leaves out a variable its buffer cannot hold (QUERY_STRING, say): the longest that
    # arrived counts. A server passes them in latin-1, one character per byte.
    path_and_query = len(environ.get("PATH_INFO", "")) + len(environ.get("QUERY_STRING", ""))
    return max(len(environ.get("REQUEST_URI", "")), path_and_query)


def refuse_unreadable_requests() -> None:
    """Answer 414 or 431 to a request too large to read, 400 to a control character in an
    address or a file name, 415 to a body the page does not read."""
    if address_bytes() > MAX_ADDRESS_BYTES:
        abort(414)
    if sum(len(name) + len(value) for name, value in request.headers.items()) > MAX_HEADER_BYTES:
        abort(431)
    if request.routing_exception is not None:
        return  # no such page (404), or not that method (405): that answer comes first
    addresses = [request.path, *(text for pair in request.args.items(multi=True) for text in pair)]
    if request.mimetype in FORM_MIMETYPES:
        addresses += [
            value for name in RETURN_ADDRESS_FIELDS for value in request.form.getlist(name)
        ]
    if any(has_control_characters(text) for text in addresses):
        abort(
            400,
            description=gettext("The address contains an invisible control character. Remove it."),
        )
    if request.mimetype == "multipart/form-data" and any(
        has_control_characters(upload.filename or "")
        for _field, upload in request.files.items(multi=True)
    ):
        # No browser sends one (it escapes them in a name); a page, a log line or a file saved
        # under that name would take it as it is.
        abort(
            400,
            description=gettext(
                "The name of the file you sent contains an invisible control character. Rename the "
                "file and send it again."
            ),
        )
    if request.method in ("GET", "HEAD", "OPTIONS") or not (
        request.content_length or request.mimetype
    ):
        return
    if request.mimetype in FORM_MIMETYPES:
        return
    if request.is_json and request.blueprint in JSON_BLUEPRINTS:
        return
    abort(415, description=gettext("This page accepts only form data, as a browser sends it."))


# --- Where a request comes from ----------------------------------------------------------------
# The client's address and scheme are what the socket tells, never what a client writes in a
# header. Behind nginx, uWSGI's socket speaks the uwsgi protocol (SCHED_SOCKET, a unix socket
# only nginx's group may open), whose variables nginx writes itself: REMOTE_ADDR is the client
# nginx talked to and HTTPS says whether that was over TLS (deploy/nginx/sched.conf). No
# X-Forwarded-* header is needed there. On uWSGI's HTTP socket (SCHED_HTTP), which clients may
# reach directly, every header is the client's own, so none is believed, unless
# SCHED_TRUSTED_PROXIES says an HTTP proxy stands in front (flask check-deploy names the risk
# when that socket is open to the network). This needs no flag telling the app which socket
# it is on, which could disagree with uwsgi.ini: no header is ever trusted by default.

# The headers that tell a client's address, scheme or host through proxies (RFC 7239 and the
# X-Forwarded-* family), as WSGI names them.
FORWARDED_HEADERS = (
    "HTTP_FORWARDED",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
    "HTTP_X_FORWARDED_SSL",
)


class FromTheSocket:
    """WSGI middleware: the scheme as uWSGI's socket tells it, and no forwarded header unless a
    proxy is trusted (``forwarded_headers``, for ProxyFix inside).

    uWSGI takes ``wsgi.url_scheme`` from X-Forwarded-Proto or X-Forwarded-Ssl whoever sends
    them, on any socket (its core/protocol.c): plain HTTP with ``X-Forwarded-Proto: https``
    would be HTTPS to the app. This sets it again from the variables only the socket's peer
    writes: UWSGI_SCHEME, else HTTPS ("on" or "1"). Other servers set the scheme themselves.
    """

    def __init__(self, app, forwarded_headers: bool = False) -> None:
        self.app = app
        self.forwarded_headers = forwarded_headers

    def __call__(self, environ, start_response):
        if "uwsgi.version" in environ:
            environ["wsgi.url_scheme"] = _uwsgi_socket_scheme(environ)
        if not self.forwarded_headers:
            for name in FORWARDED_HEADERS:
                environ.pop(name, None)  # nothing downstream (Flask-Login, say) believes them
        return self.app(environ, start_response)


def _uwsgi_socket_scheme(environ) -> str:
    scheme = environ.get("UWSGI_SCHEME")
    if scheme in ("http", "https"):
        return scheme
    return "https" if environ.get("HTTPS", "").lower() in ("on", "1") else "http"


def init_http(app: Flask) -> None:
    app.request_class = Request
    app.url_map.converters["id"] = IdConverter
    app.before_request(refuse_unreadable_requests)
    if app.config.get("SECURITY_HEADERS", True):
        app.after_request(set_security_headers)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        # An HTTP proxy in front of uWSGI's HTTP socket, configured on purpose: the client's
        # address, scheme and host as it saw them; only as many hops as there are proxies, so
        # a client cannot forge its own X-Forwarded-For.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # WSGI middleware, as Flask says
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )
    # Outermost, so that it runs first: ProxyFix then works on what the socket told.
    app.wsgi_app = FromTheSocket(  # type: ignore[method-assign]  # as above
        app.wsgi_app, forwarded_headers=bool(proxies)
    )
    app.register_blueprint(bp)
