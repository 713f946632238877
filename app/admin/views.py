"""The admin panel's pages: the dashboard, and one Flask-Admin view per model."""

from __future__ import annotations

from datetime import timedelta

from flask import abort
from flask_admin import AdminIndexView, expose
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from app.accounts.models import APPOINTMENTS_MANAGE, AUDIT_READ, USERS_READ, User
from app.admin import audit
from app.admin.models import AuditEntry
from app.admin.security import PermissionRequired, has_permission
from app.core.db import now_utc
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

    @action(*ModelView.action_delete._action)  # Flask-Admin's own name and (translated) texts
    def action_delete(self, ids) -> None:
        """Delete the selected rows, looked up by their ids as the integers they are.

        Flask-Admin compares the key with the ids as the form sent them, strings: SQLite converts
        them, PostgreSQL refuses `integer = character varying` (flask-admin issue #2951).
        Every model here has an integer key.
        """
        super().action_delete(tuple(int(value) for value in ids if str(value).isdigit()))

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
