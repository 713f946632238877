"""The home page and the language menu."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import refresh
from flask_security import current_user
from flask_security.utils import validate_redirect_url

from app.core.i18n import SESSION_KEY, is_supported
from app.core.validators import has_control_characters
from app.extensions import db

bp = Blueprint("core", __name__)


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("scheduling.appointment_list"))
    return render_template("index.html")


def is_local_path(url: str) -> bool:
    """A path on this site (not //host, /\\host or a scheme), safe to redirect to.

    No control character either: a line break would end the Location header (Werkzeug
    refuses to send it), and none belongs in an address.
    """
    return (
        url.startswith("/")
        and not url.startswith(("//", "/\\"))
        and not has_control_characters(url)
        and validate_redirect_url(url)
    )


@bp.post("/language")
def choose_language():
    """The language menu: remember the choice (the profile's, when logged in) and go back."""
    language = request.form.get("language")
    if not is_supported(language):
        abort(400, description=_("This language is not available."))
    session[SESSION_KEY] = language
    if current_user.is_authenticated and current_user.locale != language:
        current_user.locale = language
        db.session.commit()
    refresh()
    back = request.form.get("next") or ""
    if not is_local_path(back):
        back = url_for("core.index")
    name = current_app.config["LANGUAGES"][language]
    flash(_("The pages are now shown in %(language)s.", language=name), "success")
    return redirect(back)
