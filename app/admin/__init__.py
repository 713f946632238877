"""The admin panel (Flask-Admin): appointments, users, roles, the audit log, translations."""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from app.admin import appointments, audit, translations, users
from app.admin.dashboard import DashboardView
from app.core.gettext import lazy_gettext as _l
from app.core.http import csp_nonce

# Only carries the admin templates (app/admin/templates) into the app's template search path.
templates = Blueprint("admin_templates", __name__, template_folder="templates")


def init_admin(app: Flask) -> Admin:
    """Build the admin panel and its views for this app (a fresh set each time, as tests need)."""
    admin = Admin(
        name=_l("sched admin"),
        theme=Bootstrap4Theme(base_template="admin/sched_master.html"),
        index_view=DashboardView(name=_l("Dashboard"), url="/admin"),
        csp_nonce_generator=csp_nonce,  # Flask-Admin's inline scripts; no others may run
    )
    appointments.add_views(admin)
    users.add_views(admin)
    audit.add_views(admin)
    translations.add_views(admin)
    # Our templates first, so that they replace the few of Flask-Admin's that we rewrite.
    app.register_blueprint(templates)
    admin.init_app(app)
    audit.init_filters(app)
    return admin
