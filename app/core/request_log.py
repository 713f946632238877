"""Log requests without the secrets some addresses carry.

A calendar feed's address holds the token that opens it, and so do the links of password reset
and e-mail confirmation mails. Written to a log as they are, whoever reads the log could use
them. So the request log does not name a request by its raw address but by ``loggable_path``:
the path as routed, with the value of every secret URL part (``SECRET_URL_ARGS``) and secret
query parameter replaced by ``MASK``, also in an address passed as a parameter (a login's
``next``, absolute or not, nested or not).

An address no route matches is masked too: a feed address without its ``.ics`` or with more
after it, a reset link with an extra segment. Whatever follows the fixed start of a route with
a secret part (``/reset/``, ``/calendar/feed/``) is masked up to the next ``/``, wherever it
appears: in the path, in a parameter, in an address in a parameter.

uWSGI writes the request log (``logformat`` in uwsgi.ini); the app hands it the path as the
request's log variable ``sched_path`` when the request ends. Flask's own log line for an
unexpected error names the path the same way (``SchedFlask.log_exception`` in app/__init__.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import Flask, current_app, request
from werkzeug.exceptions import HTTPException

try:  # only inside uWSGI's workers
    import uwsgi
except ImportError:
    uwsgi = None  # type: ignore[assignment]  # outside uWSGI; checked before use

# URL parts and query parameters whose values open something: the feed's and Flask-Security's
# link tokens.
SECRET_URL_ARGS = frozenset({"token"})
MASK = "***"
# uWSGI keeps a log variable's length in one byte.
MAX_LOGVAR_BYTES = 255
# An address inside an address (a login's `next`) is masked too, to this depth; one nested
# deeper is masked whole.
MAX_NESTING = 3
# A route's fixed start, its secret part, and what follows that in the same segment (`.ics`).
SECRET_ROUTE = re.compile(r"([^<]*)<(?:[^<>:]+:)?([^<>:]+)>([^</]*)")


def loggable_path() -> str:
    """This request's path and query string, decoded, secrets masked, unprintable characters
    escaped."""
    routed = (request.view_args or {}) if request.url_rule is not None else None
    address = _masked(request.path, request.query_string.decode("utf-8", "replace"), routed)
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in address)


def _masked(path: str, query: str, arguments: Mapping | None = None, depth: int = 0) -> str:
    """``path?query`` with the secret route ``arguments`` (found by routing ``path`` unless
    given) and secret parameters masked, and addresses in parameters masked in turn."""
    if arguments is None:
        arguments = _route_arguments(path)
    for name, value in arguments.items():
        if name in SECRET_URL_ARGS and str(value):
            path = path.replace(str(value), MASK)
    path = _masked_after_secret_starts(path)
    if not query:
        return path
    parameters = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name.lower() in SECRET_URL_ARGS:
            value = MASK
        elif _is_address(value):
            value = _masked_address(value, depth + 1) if depth < MAX_NESTING else MASK
        else:
            value = _masked_after_secret_starts(value)
        parameters.append(f"{name}={value}")
    return f"{path}?{'&'.join(parameters)}"


def _is_address(value: str) -> bool:
    """Tell whether a parameter holds an address: a path, or an http(s) URL."""
    scheme, colon, _rest = value.partition(":")
    return value.startswith("/") or (bool(colon) and scheme.lower() in ("http", "https"))


def _masked_address(address: str, depth: int) -> str:
    """``address`` (a path or a whole URL) with its secrets masked, its host kept."""
    try:
        parts = urlsplit(address)
    except ValueError:  # not a URL after all ("http://[", say): nothing of it is kept
        return MASK
    origin = f"{parts.scheme}:" if parts.scheme else ""
    if parts.netloc:
        origin += f"//{parts.netloc}"
    masked = origin + _masked(parts.path, parts.query, depth=depth)
    if parts.fragment:
        masked += "#" + _masked_after_secret_starts(parts.fragment)
    return masked


def _masked_after_secret_starts(text: str) -> str:
    """``text`` with what follows the fixed start of a secret route masked, to the next ``/``
    (keeping the rest of the route's segment, ``.ics``, when it is there)."""
    pattern, ends = _secret_route_starts()
    if pattern is None:
        return text

    def mask(match: re.Match) -> str:
        start, segment = match.groups()
        end = ends[start]
        kept = end if end and segment.endswith(end) and segment != end else ""
        return start + MASK + kept

    return pattern.sub(mask, text)


def _secret_route_starts() -> tuple[re.Pattern | None, dict[str, str]]:
    """A pattern for the fixed start of every route whose first variable part is secret
    (``/reset/``) and the segment after it, and what follows that part in its segment
    (``.ics``) by start; read from the routes once per app."""
    cached = current_app.extensions.get("sched_secret_route_starts")
    if cached is None:
        ends = {}
        for rule in current_app.url_map.iter_rules():
            match = SECRET_ROUTE.match(rule.rule)
            if match and match.group(2) in SECRET_URL_ARGS and match.group(1).endswith("/"):
                ends[match.group(1)] = match.group(3)
        starts = "|".join(re.escape(start) for start in sorted(ends, key=len, reverse=True))
        pattern = re.compile(f"({starts})([^/?#&]+)") if ends else None
        cached = current_app.extensions["sched_secret_route_starts"] = (pattern, ends)
    return cached


def _route_arguments(path: str) -> Mapping[str, Any]:
    """The arguments of the route a GET of ``path`` leads to (none for no route)."""
    try:
        adapter = current_app.create_url_adapter(request)
        if adapter is None:  # only without a request
            return {}
        return adapter.match(path, method="GET")[1]
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
