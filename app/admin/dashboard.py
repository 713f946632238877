"""The admin panel's front page: counts at a glance and the latest audit entries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from flask_admin import AdminIndexView, expose
from sqlalchemy import func, select

from app.accounts.models import APPOINTMENTS_MANAGE, AUDIT_READ, USERS_READ, User
from app.admin.security import PermissionRequired, has_permission
from app.audit.models import AuditEntry
from app.core.db import now_utc
from app.core.timezones import local_days_in_utc, user_timezone
from app.extensions import db
from app.scheduling.models import Appointment

LATEST_AUDIT_ENTRIES = 10


def this_week_in_utc(now: datetime) -> tuple[datetime, datetime]:
    """Return the UTC [start, end) of the viewer's week around ``now``: from Monday 00:00 to
    the next Monday 00:00 on their clock."""
    zone = user_timezone()
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    return local_days_in_utc(monday, monday + timedelta(days=6), zone)


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
                select(func.count())
                .select_from(User)
                .where(User.create_datetime >= week_ago.replace(tzinfo=None))
            )
        if has_permission(APPOINTMENTS_MANAGE):
            week_start, week_end = this_week_in_utc(now)
            counts["appointments_this_week"] = db.session.scalar(
                select(func.count())
                .select_from(Appointment)
                .where(Appointment.start >= week_start, Appointment.start < week_end)
            )
        latest: Sequence[AuditEntry] = []
        if has_permission(AUDIT_READ):
            latest = db.session.scalars(
                select(AuditEntry).order_by(AuditEntry.created.desc()).limit(LATEST_AUDIT_ENTRIES)
            ).all()
        return self.render("admin/dashboard.html", counts=counts, latest=latest)
