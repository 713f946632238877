"""Log requests without the secrets some addresses carry.

A calendar feed's address holds the token that opens it, and so do the links of password reset
and e-mail confirmation mails. Written to a log as they are, whoever reads the log could use
them. So the request log does not name a request by its raw address but by ``loggable_path``:
the path as routed, with the value of every secret URL part (``SECRET_URL_ARGS``) and secret
query parameter replaced by ``MASK``, also in an address passed as a parameter (a login's
``next``).

uWSGI writes the request log (``logformat`` in uwsgi.ini); the app hands it the path as the
request's log variable ``sched_path`` when the request ends. Flask's own log line for an
unexpected error names the path the same way (``SchedFlask.log_exception`` in app/__init__.py).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from flask import Flask, current_app, request
from werkzeug.exceptions import HTTPException

try:  # only inside uWSGI's workers
    import uwsgi
except ImportError:
    uwsgi = None

# URL parts and query parameters whose values open something: the feed's and Flask-Security's
# link tokens.
SECRET_URL_ARGS = frozenset({"token"})
MASK = "***"
# uWSGI keeps a log variable's length in one byte.
MAX_LOGVAR_BYTES = 255
# An address inside an address (a login's `next`) is masked too, to this depth.
MAX_NESTING = 2


def loggable_path() -> str:
    """This request's path and query string, decoded, secrets masked, unprintable characters
    escaped."""
    routed = (request.view_args or {}) if request.url_rule is not None else None
    address = _masked(request.path, request.query_string.decode("utf-8", "replace"), routed)
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in address)


def _masked(path: str, query: str, arguments: dict | None = None, depth: int = 0) -> str:
    """``path?query`` with the secret route ``arguments`` (found by routing ``path`` unless
    given) and secret parameters masked, and addresses in parameters masked in turn."""
    if arguments is None:
        arguments = _route_arguments(path)
    for name, value in arguments.items():
        if name in SECRET_URL_ARGS and str(value):
            path = path.replace(str(value), MASK)
    if not query:
        return path
    parameters = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name.lower() in SECRET_URL_ARGS:
            value = MASK
        elif value.startswith("/") and depth < MAX_NESTING:
            inner_path, _, inner_query = value.partition("?")
            value = _masked(inner_path, inner_query, depth=depth + 1)
        parameters.append(f"{name}={value}")
    return f"{path}?{'&'.join(parameters)}"


def _route_arguments(path: str) -> dict:
    """The arguments of the route a GET of ``path`` leads to (none for no route)."""
    try:
        return current_app.create_url_adapter(request).match(path, method="GET")[1]
    except HTTPException:  # no such address, or a redirect (RequestRedirect is one too)
        return {}


def hand_path_to_uwsgi(error: BaseException | None = None) -> None:
    """Give uWSGI's request log this request's loggable path (``%(sched_path)``)."""
    try:
        value = loggable_path().encode()
    except Exception:  # never fail a request over its log line, nor log it unmasked
        current_app.logger.exception("Could not mask the address of a request for the log")
        value = b"(address not logged)"
    if len(value) > MAX_LOGVAR_BYTES:
        value = value[: MAX_LOGVAR_BYTES - 3] + b"..."
    uwsgi.set_logvar("sched_path", value.decode("utf-8", "ignore"))


def init_request_log(app: Flask) -> None:
    if uwsgi is not None:
        app.teardown_request(hand_path_to_uwsgi)
