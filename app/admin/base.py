"""What every model screen of the admin panel shares: SchedModelView, the base of the appointment,
user, role and audit log views, and its guards against bad input.

Who may see and change what is app/admin/security.py's; each screen is a module of its own
(app/admin/appointments.py, users.py, audit.py, translations.py, dashboard.py).
"""

from __future__ import annotations

from datetime import date

from flask import abort, after_this_request, current_app, flash, request
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.babel import gettext as admin_gettext
from flask_admin.contrib.sqla import ModelView
from flask_babel import gettext
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app.admin.security import PermissionRequired
from app.audit import recording as audit
from app.core.db import MAX_INT, database_error_summary, database_unavailable_reason, parse_id
from app.core.errors import refuse_input
from app.core.timezones import in_calendar_years
from app.extensions import db

# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """Keep text a spreadsheet would run as a formula from running (OWASP's CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return f"'{value}"
    return value


def is_page_number(text: str, page_size: int) -> bool:
    """Tell whether ?page= holds a page a list may have: counted from 0, as Flask-Admin's pager
    counts, and starting at a row an integer can number (an OFFSET the database takes)."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_INT)):
        return False
    return int(text) * page_size <= MAX_INT


def is_sensible_filter_value(view, flt, value: str) -> bool:
    """Tell whether a list filter's value, which its filter could read, is one to use.

    A date must fall within the calendar's years: Flask-Admin's date filters read any year
    from 1 to 9999, and a filter's day arithmetic then overflows (the day after 9999-12-31;
    year 1 moved to UTC from a zone east of it): a 500. A filter with a menu of choices takes
    one of them (each of them for a list): anything else was not chosen from its menu.
    """
    cleaned = flt.clean(value)
    items = cleaned if isinstance(cleaned, list | tuple) else [cleaned]
    if any(isinstance(item, date) and not in_calendar_years(item) for item in items):
        return False
    options = flt.get_options(view)
    if options:
        choices = {str(key) for key, _label in options}
        chosen = [str(item) for item in cleaned] if isinstance(cleaned, list) else [value]
        return all(item in choices for item in chosen)
    return True


def _answer_conflict(response):
    response.status_code = 409
    return response


class SchedModelView(PermissionRequired, ModelView):
    """A model view whose create, edit and delete follow the write permission."""

    form_base_class = FlaskForm  # Flask-WTF's CSRF token, valid in every worker and host
    # Flask-Admin's pages, labelled and valid HTML (app/admin/templates/admin/sched/).
    list_template = "admin/sched/list.html"
    create_template = "admin/sched/create.html"
    edit_template = "admin/sched/edit.html"
    page_size = 25
    page_size_options = (25, 50, 100)
    can_set_page_size = True

    def validate_form(self, form) -> bool:
        valid = super().validate_form(form)
        # Flask-Admin shows only errors that are str; ours are lazy, translated when shown.
        for form_field in form:
            form_field.errors = [str(error) for error in form_field.errors]
        return valid

    # Every change made here goes into the audit log (app/audit/recording.py), in the same
    # transaction as the change: Flask-Admin commits right after these hooks.
    def on_model_change(self, form, model, is_created) -> None:
        audit.record_change(model, is_created)

    def on_model_delete(self, model) -> None:
        audit.record_delete(model)

    def handle_view_exception(self, exc: Exception) -> bool:
        # Flask-Admin would flash the database's error as it is: the SQL statement, and (but for
        # the engine's hide_parameters) the values, a password hash among them.
        if database_unavailable_reason(exc):
            raise exc  # the site's 503 page (app/core/errors.py)
        if isinstance(exc, IntegrityError):
            # A unique value taken, or a row gone, between the form's checks and the save.
            current_app.logger.warning(
                "Admin panel, %s: the database refused a change: %s",
                self.endpoint,
                database_error_summary(exc),
            )
            flash(
                gettext(
                    "Nothing was saved: the change conflicts with a record saved meanwhile (the "
                    "same e-mail address, say). Check the form and save again."
                ),
                "error",
            )
            after_this_request(_answer_conflict)
            return True
        if isinstance(exc, SQLAlchemyError):
            current_app.logger.error(
                "Admin panel, %s: a change failed", self.endpoint, exc_info=exc
            )
            flash(gettext("Nothing was saved: the database refused the change."), "error")
            return True
        return super().handle_view_exception(exc)

    # --- Bad input: what Flask-Admin lets through, or answers with a redirect or a 500 ---------
    # Every model here has an integer key, so an id is a number from 1 to MAX_INT (parse_id).

    def get_one(self, id):
        """Return the row with this id; an id that names none, or is no id, answers 404."""
        key = parse_id(id)
        model = None if key is None else db.session.get(self.model, key)
        if model is None:
            abort(404, description=admin_gettext("Record does not exist."))
        return model

    def _get_list_extra_args(self):
        """Read the list's arguments from the URL; a page that is no page number answers 400.

        Flask-Admin reads ?page= with int(): a negative page reaches the database as a negative
        OFFSET (PostgreSQL refuses it: a 500), a huge one as an OFFSET past its integers, and
        "two" silently means the first page. 400 rather than the nearest page: no link of ours
        carries such a number, and showing another page under it would leave the pager and the
        address disagreeing. A page past the last row is a page number all the same: Flask-Admin
        shows it empty, as when the list shrank since its pager was drawn.
        """
        view_args = super()._get_list_extra_args()
        page = request.args.get("page")
        if page is not None and not is_page_number(
            page, self.get_safe_page_size(view_args.page_size)
        ):
            abort(400, description=gettext("This list has no such page."))
        return view_args

    def _get_list_filter_args(self):
        """The filters the URL chooses, but for values no filter here should take (see
        is_sensible_filter_value): those are refused as Flask-Admin refuses a value its filter
        cannot read, with its message, and the list answers 400 (get_invalid_value_msg)."""
        filters = super()._get_list_filter_args()
        if not filters:
            return filters
        accepted = []
        for chosen in filters:
            index, _name, value = chosen
            flt = self._filters[index]
            if is_sensible_filter_value(self, flt, value):
                accepted.append(chosen)
            else:
                flash(self.get_invalid_value_msg(value, flt), "error")
        return accepted

    def get_invalid_value_msg(self, value, filter) -> str:
        """Flask-Admin flashes this for a filter value it ignores; the list then answers 400."""
        refuse_input()
        return super().get_invalid_value_msg(value, filter)

    def handle_action(self, return_view=None):
        """Run a bulk action on rows chosen from the list; anything else is refused."""
        if not any(self.is_action_allowed(known) for known in self._actions_data):
            abort(403)
        name = request.form.get("action")
        if name not in self._actions_data:
            abort(400, description=gettext("Choose an action from the list."))
        if not self.is_action_allowed(name):
            abort(403)
        ids = request.form.getlist("rowid")
        if not ids or any(parse_id(value) is None for value in ids):
            abort(400, description=gettext("Choose the rows from the list."))
        return super().handle_action(return_view)

    def get_export_value(self, model, name):
        """Every export's cells, whatever their formatter, are safe to open in a spreadsheet."""
        return spreadsheet_safe(super().get_export_value(model, name))

    @expose("/export/<export_type>/")
    def export(self, export_type: str):
        """Flask-Admin redirects with "Permission denied." for any type; say 404 or 403."""
        if export_type not in self.export_types:
            abort(404)
        if not self.can_export:
            abort(403)
        return super().export(export_type)

    @action(*ModelView.action_delete._action)  # Flask-Admin's own name and (translated) texts
    def action_delete(self, ids) -> None:
        """Delete the selected rows, looked up by their ids as the integers they are.

        Flask-Admin compares the key with the ids as the form sent them, strings: SQLite converts
        them, PostgreSQL refuses `integer = character varying` (flask-admin issue #2951).
        """
        super().action_delete(tuple(parse_id(value) for value in ids))

    @expose("/ajax/update/", methods=("POST",))
    def ajax_update(self):
        """Flask-Admin's inline list editing does not check can_edit itself; we do."""
        if not self.can_edit:
            abort(403)
        return super().ajax_update()

    @property
    def can_create(self) -> bool:
        return self.can_write

    @property
    def can_edit(self) -> bool:
        return self.can_write

    @property
    def can_delete(self) -> bool:
        return self.can_write
