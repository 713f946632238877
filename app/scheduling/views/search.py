"""Search: the user's own appointments whose title, location or description hold some words."""

from __future__ import annotations

from itertools import groupby

from flask import Blueprint, current_app, render_template, request
from flask_security import auth_required, current_user
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from wtforms import SearchField
from wtforms.validators import Length

from app.core.db import MAX_INT
from app.core.gettext import lazy_gettext as _l
from app.core.http import page_or_404
from app.core.timezones import user_timezone
from app.extensions import db
from app.scheduling.models import Appointment

bp = Blueprint("search", __name__, template_folder="../templates")

QUERY_MAX = 100


class SearchForm(FlaskForm):
    """What to look for, sent by GET: a search changes nothing, so it needs no CSRF token."""

    class Meta:
        csrf = False

    q = SearchField(
        _l("Search your appointments"),
        validators=[Length(max=QUERY_MAX)],
        filters=[lambda text: (text or "").strip()],
        render_kw={"maxlength": QUERY_MAX},
    )


@bp.route("/search/")
@auth_required()
def search():
    """List the appointments that hold every word asked for, by date, earliest first.

    Each word may be in the title, the location or the description, in any case; ``%`` and
    ``_`` are only characters. A series is found once, at its first occurrence, with its rule.
    """
    form = SearchForm(request.args)
    if not form.q.data:
        return render_template("scheduling/search.html", form=form, page=None, days=[])
    if not form.validate():
        return render_template("scheduling/search.html", form=form, page=None, days=[]), 400
    query = select(Appointment).filter_by(owner_id=current_user.id)
    for word in form.q.data.split():
        query = query.where(
            or_(
                *(
                    column.icontains(word, autoescape=True)
                    for column in (Appointment.title, Appointment.location, Appointment.description)
                )
            )
        )
    per_page = current_app.config["APPOINTMENTS_PER_PAGE"]
    page = db.paginate(
        query.order_by(Appointment.start, Appointment.id),
        page=page_or_404(max_page=MAX_INT // per_page),
        per_page=per_page,
    )
    zone = user_timezone()
    days = [
        (day, list(found))
        for day, found in groupby(page.items, key=lambda found: found.start.astimezone(zone).date())
    ]
    return render_template("scheduling/search.html", form=form, page=page, days=days)
