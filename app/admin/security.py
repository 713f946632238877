"""Who may see and do what in the admin panel, from Flask-Security permissions."""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_security import current_user

from app.accounts.models import ADMIN_PANEL


def has_permission(permission: str | None) -> bool:
    return bool(
        permission
        and current_user.is_authenticated
        and current_user.active
        and current_user.has_permission(permission)
    )


class PermissionRequired:
    """Mix into a Flask-Admin view: ``read_permission`` to see it, ``write_permission`` to change.

    Checked by Flask-Admin before every endpoint of the view (list, details, forms, actions,
    export, AJAX lookups). Anonymous visitors are sent to log in and come back; logged-in users
    without the permission get 403.
    """

    read_permission: str = ADMIN_PANEL
    write_permission: str | None = None

    def is_accessible(self) -> bool:
        return has_permission(ADMIN_PANEL) and has_permission(self.read_permission)

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            here = request.full_path if request.query_string else request.path
            return redirect(url_for("security.login", next=here))
        abort(403)

    @property
    def can_write(self) -> bool:
        return has_permission(self.write_permission)
