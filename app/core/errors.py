"""Error pages for people and JSON errors for programs."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, SecurityError

# Our own wording, so that every error reads in the user's language.
ERROR_TEXTS = {
    400: (_l("Bad request"), _l("The request could not be understood. Please try again.")),
    401: (_l("Please log in"), _l("You need to log in to see this page.")),
    403: (_l("Forbidden"), _l("You do not have permission to see this page.")),
    404: (_l("Page not found"), _l("The page you asked for does not exist.")),
    405: (_l("Method not allowed"), _l("This page cannot be used that way.")),
    413: (_l("Request too large"), _l("What you sent is larger than this site accepts.")),
    429: (_l("Too many requests"), _l("Please slow down and try again in a moment.")),
    500: (_l("Server error"), _l("Something went wrong on our side. Please try again later.")),
}
CSRF_TEXT = _l("The form has expired or was sent from elsewhere. Reload the page and try again.")


def wants_json() -> bool:
    """Tell whether the client sent JSON or prefers it to HTML (a tie goes to HTML)."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return request.is_json or best == "application/json"


def handle_http_error(error: HTTPException):
    if error.response is not None:
        return error.response
    if isinstance(error, SecurityError):
        # A host name the site does not serve: nothing may be built from it (no page, no links).
        text = gettext("Bad request: unknown host.")
        return text, 400, {"Content-Type": "text/plain; charset=utf-8"}
    code = error.code or 500
    title, message = ERROR_TEXTS.get(code, (error.name, error.description))
    if isinstance(error, CSRFError):
        message = CSRF_TEXT
    elif error.description != type(error).description:
        message = error.description  # a reason given by our code, already in the user's language
    if wants_json():
        response = jsonify(error={"code": code, "title": str(title), "message": str(message)})
    else:
        response = render_template("errors/error.html", code=code, title=title, message=message)
    # Keep the headers an error must carry, such as Allow on 405 and Retry-After on 429.
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return response, code, headers


def init_error_handlers(app: Flask) -> None:
    """Answer every HTTP error, unexpected ones (500) included, with our page or JSON."""
    app.register_error_handler(HTTPException, handle_http_error)
