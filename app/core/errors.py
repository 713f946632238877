"""Error pages for people and JSON errors for programs; 400 for every page that refuses input."""

from __future__ import annotations

from flask import (
    Flask,
    Response,
    before_render_template,
    current_app,
    g,
    jsonify,
    render_template,
    request,
)
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    SecurityError,
    ServiceUnavailable,
)
from wtforms.form import BaseForm

from app.core.db import database_unavailable_reason
from app.core.gettext import lazy_gettext as _l
from app.extensions import db

# Our own wording, so that every error reads in the user's language.
ERROR_TEXTS = {
    400: (_l("Bad request"), _l("The request could not be understood. Please try again.")),
    401: (_l("Please log in"), _l("You need to log in to see this page.")),
    403: (_l("Forbidden"), _l("You do not have permission to see this page.")),
    404: (_l("Page not found"), _l("The page you asked for does not exist.")),
    405: (_l("Method not allowed"), _l("This page cannot be used that way.")),
    413: (_l("Request too large"), _l("What you sent is larger than this site accepts.")),
    414: (_l("Address too long"), _l("The address is longer than this site accepts.")),
    415: (_l("Unsupported content type"), _l("This page cannot read what was sent.")),
    429: (_l("Too many requests"), _l("Please slow down and try again in a moment.")),
    431: (
        _l("Request headers too large"),
        _l("The request’s headers (its cookies, say) are larger than this site accepts."),
    ),
    500: (_l("Server error"), _l("Something went wrong on our side. Please try again later.")),
    503: (
        _l("Service unavailable"),
        _l("The service is temporarily unavailable. Please try again in a few moments."),
    ),
}
CSRF_TEXT = _l("The form has expired or was sent from elsewhere. Reload the page and try again.")


def wants_json() -> bool:
    """Tell whether the client sent JSON or prefers it to HTML (a tie goes to HTML)."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return request.is_json or best == "application/json"


def handle_http_error(error: HTTPException):
    if error.response is not None:
        return error.response
    original = error.original_exception if isinstance(error, InternalServerError) else None
    if isinstance(original, Exception) and database_unavailable_reason(original):
        # Raised outside the view and its handlers (opening or saving the session, say).
        return handle_database_error(original)
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
    response: Response | str
    if wants_json():
        response = jsonify(error={"code": code, "title": str(title), "message": str(message)})
    else:
        response = render_template("errors/error.html", code=code, title=title, message=message)
    # Keep the headers an error must carry, such as Allow on 405 and Retry-After on 429.
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return response, code, headers


# --------------------------------------------------------------------------------------------
# The database cannot serve: 503 and Retry-After, not a 500
# --------------------------------------------------------------------------------------------

# Seconds a client is asked to wait before trying again (a PostgreSQL restart takes a few).
RETRY_AFTER_SECONDS = 5


def handle_database_error(error: Exception):
    """Answer 503 with Retry-After when the database cannot serve; leave other errors be.

    Unreachable, restarting, read-only, full, locked for too long: none of it is the request's
    fault, and the next try may well work. The transaction is rolled back so that the session
    is usable again, and one line is logged. Other database errors (an IntegrityError, say)
    keep their usual handling.
    """
    reason = database_unavailable_reason(error)
    if reason is None:
        raise error
    current_app.logger.warning(
        "Database unavailable, answered 503 to %s %s: %s",
        request.method,
        request.endpoint,
        reason,
    )
    _roll_back()
    unavailable = ServiceUnavailable(retry_after=RETRY_AFTER_SECONDS)
    if "_login_user" not in g:
        # Loading the logged-in user is what failed (Flask-Login keeps the request's user in
        # g._login_user): show the page as to a visitor rather than ask the database again.
        _treat_as_visitor()
    try:
        return handle_http_error(unavailable)
    except SQLAlchemyError:
        # The page itself needed the database (the user's name and roles, expired by the
        # rollback): show it as to a visitor.
        _roll_back()
        _treat_as_visitor()
        return handle_http_error(unavailable)


def _roll_back() -> None:
    try:
        db.session.rollback()
    except SQLAlchemyError:
        db.session.close()  # gives the connection back to the pool, which discards a dead one


def _treat_as_visitor() -> None:
    login_manager = current_app.login_manager  # type: ignore[attr-defined]  # Flask-Security's
    g._login_user = login_manager.anonymous_user()


# --------------------------------------------------------------------------------------------
# Refused input: 400, also when the page shows the form again with what was wrong
# --------------------------------------------------------------------------------------------


def refuse_input() -> None:
    """Make this request's page answer 400: it shows what was wrong with the input."""
    g.input_refused = True


def _note_refused_form(sender, template, context, **extra) -> None:
    """A page that shows a sent form's errors (ours, Flask-Security's, Flask-Admin's) is a 400."""
    if request.method not in ("GET", "HEAD") and any(
        isinstance(value, BaseForm) and value.errors for value in context.values()
    ):
        refuse_input()


def _answer_refused_input(response):
    if g.get("input_refused") and response.status_code == 200:
        response.status_code = 400
    return response


def init_error_handlers(app: Flask) -> None:
    """Answer every HTTP error, unexpected ones (500) included, with our page or JSON; a
    database that cannot serve with 503; a page that refuses its input with 400."""
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(PoolTimeoutError, handle_database_error)
    before_render_template.connect(_note_refused_form, app)
    app.after_request(_answer_refused_input)
