"""The admin panel's pages: the dashboard, and one Flask-Admin view per model."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, after_this_request, current_app, flash, request
from flask_admin import AdminIndexView, expose
from flask_admin.actions import action
from flask_admin.babel import gettext as admin_gettext
from flask_admin.contrib.sqla import ModelView
from flask_babel import gettext
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app.accounts.models import APPOINTMENTS_MANAGE, AUDIT_READ, USERS_READ, User
from app.admin import audit
from app.admin.models import AuditEntry
from app.admin.security import PermissionRequired, has_permission
from app.core.db import MAX_INT, now_utc, parse_id
from app.core.errors import database_error_summary, database_unavailable_reason, refuse_input
from app.extensions import db
from app.scheduling.models import Appointment

LATEST_AUDIT_ENTRIES = 10


class DashboardView(PermissionRequired, AdminIndexView):
    """/admin/: counts at a glance and the latest audit entries."""

    @expose("/")
    def index(self):
        now = now_utc()
        week_ago = now - timedelta(days=7)
        counts = {}
        if has_permission(USERS_READ):
            counts["users"] = db.session.scalar(select(func.count()).select_from(User))
            counts["signups"] = db.session.scalar(
                select(func.count()).select_from(User).where(
                    User.create_datetime >= week_ago.replace(tzinfo=None)
                )
            )
        if has_permission(APPOINTMENTS_MANAGE):
            counts["appointments_this_week"] = db.session.scalar(
                select(func.count()).select_from(Appointment).where(
                    Appointment.start >= now - timedelta(days=now.weekday()),
                    Appointment.start < now + timedelta(days=7 - now.weekday()),
                )
            )
        latest = []
        if has_permission(AUDIT_READ):
            latest = db.session.scalars(
                select(AuditEntry).order_by(AuditEntry.created.desc()).limit(LATEST_AUDIT_ENTRIES)
            ).all()
        return self.render("admin/dashboard.html", counts=counts, latest=latest)


def _answer_conflict(response):
    response.status_code = 409
    return response


class SchedModelView(PermissionRequired, ModelView):
    """A model view whose create, edit and delete follow the write permission."""

    form_base_class = FlaskForm  # Flask-WTF's CSRF token, valid in every worker and host
    page_size = 25
    page_size_options = (25, 50, 100)
    can_set_page_size = True

    def validate_form(self, form) -> bool:
        valid = super().validate_form(form)
        # Flask-Admin shows only errors that are str; ours are lazy, translated when shown.
        for form_field in form:
            form_field.errors = [str(error) for error in form_field.errors]
        return valid

    # Every change made here goes into the audit log (app/admin/audit.py), in the same
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
                self.endpoint, database_error_summary(exc),
            )
            flash(gettext(
                "Nothing was saved: the change conflicts with a record saved meanwhile (the "
                "same e-mail address, say). Check the form and save again."
            ), "error")
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

    def get_list(
        self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None
    ):
        # A page past the rows an integer id can number holds nothing, and its OFFSET would
        # overflow the database's; a negative one PostgreSQL refuses.
        if page is not None and not 0 <= page * (page_size or self.page_size) <= MAX_INT:
            abort(404)
        return super().get_list(
            page, sort_column, sort_desc, search, filters, execute=execute, page_size=page_size
        )

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
