"""The admin panel's user and role pages."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TypeGuard

from flask import current_app, flash, g
from flask_admin.actions import action
from flask_admin.babel import gettext as admin_gettext
from flask_admin.contrib.sqla.fields import QuerySelectMultipleField
from flask_admin.contrib.sqla.filters import BooleanEqualFilter, FilterEqual
from flask_admin.form import Select2Widget
from flask_admin.model import typefmt
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_security import current_user, hash_password, naive_utcnow
from flask_security.forms import EmailValidation
from flask_security.recoverable import send_reset_password_instructions
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import get_history
from wtforms import (
    BooleanField,
    Choice,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.accounts import lockout
from app.accounts.forms import ProfileFieldsMixin
from app.accounts.models import (
    ROLE_PERMISSIONS,
    ROLES_MANAGE,
    USERS_MANAGE,
    USERS_READ,
    Role,
    User,
    translate_permission,
)
from app.accounts.security import user_datastore
from app.accounts.sessions import end_sessions
from app.admin.base import SchedModelView
from app.audit import recording as audit
from app.core.db import parse_id
from app.core.filters import datetime_filter
from app.core.gettext import lazy_gettext as _l
from app.core.i18n import in_language_of
from app.core.timezones import UTC
from app.core.validators import NoControlCharacters, strip_whitespace
from app.extensions import db
from app.scheduling.models import Appointment

log = logging.getLogger(__name__)

# Secrets and keys to an account: never listed, shown, exported or put in a form.
SECRET_COLUMNS = (
    "password",
    "fs_uniquifier",
    "fs_webauthn_user_handle",
    "tf_primary_method",
    "tf_totp_secret",
    "tf_phone_number",
    "us_totp_secrets",
    "us_phone_number",
    "mf_recovery_codes",
    "calendar_token_hash",
)
# What admins may not take away from themselves: they would lock themselves out.
OWN_ADMIN_RIGHTS = frozenset({USERS_MANAGE, ROLES_MANAGE})
KNOWN_PERMISSIONS = sorted({p for permissions in ROLE_PERMISSIONS.values() for p in permissions})


def known_permissions() -> list[str]:
    """Every permission the code checks, with one translate-<language> per language."""
    per_language = [translate_permission(language) for language in current_app.config["LANGUAGES"]]
    return KNOWN_PERMISSIONS + per_language


# Each listed user's number of appointments, counted inside the list query itself.
APPOINTMENT_COUNT = (
    select(func.count(Appointment.id))
    .where(Appointment.owner_id == User.id)
    .correlate(User)
    .scalar_subquery()
    .label("appointment_count")
)


def _rights(roles) -> set[str]:
    """Return the admin rights in OWN_ADMIN_RIGHTS that these roles grant together."""
    return {p for role in roles for p in (role.permissions or ()) if p in OWN_ADMIN_RIGHTS}


def _is_current_user(user: User | None) -> TypeGuard[User]:
    user_id: int | None = None if user is None else user.id  # None until a new user is saved
    return user_id is not None and user_id == current_user.id


def _ids(ids) -> list[int]:
    """Turn the row ids an action receives into primary keys (SchedModelView checked them)."""
    return [key for value in ids if (key := parse_id(value)) is not None]


def _utc_iso(value: datetime) -> str:
    """Flask-Security keeps naive UTC; exports say so."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------------
# Forms
# ---------------------------------------------------------------------------------------------


def _all_roles():
    return db.session.scalars(select(Role).order_by(Role.name)).all()


class RolesField(QuerySelectMultipleField):
    """Flask-Admin's multiple select of ORM objects, mended for WTForms 3.3 and strictness.

    Flask-Admin 2.2 yields plain tuples, which WTForms 3.3 deprecates with a warning, and
    checks for unknown ids before it has looked at the submitted ones, so they pass.
    """

    def iter_choices(self):
        for pk, role in self._get_object_list():
            yield Choice(pk, self.get_label(role), role in self.data, {})

    def pre_validate(self, form) -> None:
        # Reading data matches the submitted ids to roles, noting any that match none.
        self.data  # noqa: B018 (read for that effect)
        super().pre_validate(form)


class UserCreateForm(ProfileFieldsMixin, FlaskForm):
    """A new account, held to Flask-Security's rules for addresses and passwords."""

    # The profile fields are declared again so that they come after the address; the mixin
    # gives their choices. (Its time zone hint would suggest the admin's zone, not the user's.)
    email = EmailField(
        _l("E-mail address"),
        validators=[DataRequired(), Length(max=255), EmailValidation(verify=True)],
        render_kw={"autocomplete": "off"},
        description=_l(
            "An account created here counts as confirmed: no confirmation e-mail is sent, "
            "so make sure the address is right."
        ),
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired()],
        render_kw={"autocomplete": "new-password"},
    )
    full_name = StringField(
        _l("Name"),
        filters=[strip_whitespace],
        validators=[Optional(), Length(max=255), NoControlCharacters()],
    )
    timezone = SelectField(_l("Time zone"), default="UTC")
    locale = SelectField(_l("Language"), default="en")
    roles = RolesField(_l("Roles"), query_factory=_all_roles, get_label="name")
    active = BooleanField(
        _l("Active"), default=True, description=_l("Only active users can log in.")
    )

    def __init__(self, formdata=None, obj=None, **kwargs):
        super().__init__(formdata, obj=obj, **kwargs)
        self.user: User | None = obj  # the account being edited; None for a new one
        self.set_profile_choices()
        if "password" in self:
            self.password.description = _l(
                "At least %(num)d characters. To let the user choose their own, send them a "
                "password reset e-mail from the list afterwards.",
                num=current_app.config["SECURITY_PASSWORD_LENGTH_MIN"],
            )

    def validate_email(self, field) -> None:
        other = user_datastore.find_user(case_insensitive=True, email=field.data)
        if other is not None and other is not self.user:
            raise ValidationError(_("%(email)s already has an account.", email=field.data))

    def validate_password(self, field) -> None:
        password_util = current_app.extensions["security"].password_util
        problems, field.data = password_util.validate(
            field.data, True, email=self.email.data, full_name=self.full_name.data
        )
        if problems:
            raise ValidationError(" ".join(str(problem) for problem in problems))

    def account_fields(self) -> dict:
        """Return the values to store on the account, the password excepted."""
        names = ("email", "full_name", "timezone", "locale", "roles", "active")
        return {name: self[name].data for name in names}


class UserEditForm(UserCreateForm):
    """An existing account; never its password, and admins cannot lock themselves out."""

    password = None

    def __init__(self, formdata=None, obj=None, **kwargs):
        super().__init__(formdata, obj=obj, **kwargs)
        self.email.description = _l(
            "A changed address is not confirmed again by e-mail; make sure it is right."
        )

    def validate_active(self, field) -> None:
        if _is_current_user(self.user) and not field.data:
            raise ValidationError(_("You cannot deactivate your own account."))

    def validate_roles(self, field) -> None:
        if _is_current_user(self.user) and _rights(self.user.roles) - _rights(field.data):
            raise ValidationError(_("You cannot take away your own admin role."))


class RoleForm(FlaskForm):
    name = StringField(
        _l("Name"),
        filters=[strip_whitespace],
        validators=[DataRequired(), Length(max=80), NoControlCharacters()],
    )
    description = StringField(
        _l("Description"),
        filters=[strip_whitespace],
        validators=[Optional(), Length(max=255), NoControlCharacters()],
    )
    permissions = SelectMultipleField(
        _l("Permissions"),
        choices=[],  # known_permissions(), which depend on the languages configured
        widget=Select2Widget(multiple=True),
        description=_l("What the users who have this role may do."),
    )

    def __init__(self, formdata=None, obj=None, **kwargs):
        super().__init__(formdata, obj=obj, **kwargs)
        self.permissions.choices = [SelectChoice(name) for name in known_permissions()]
        self.role: Role | None = obj  # the role being edited; None for a new one

    def validate_name(self, field) -> None:
        other = db.session.scalar(select(Role).where(Role.name == field.data))
        if other is not None and other is not self.role:
            raise ValidationError(_("There is already a role named %(name)s.", name=field.data))

    def validate_permissions(self, field) -> None:
        if self.role is not None and _loses_own_rights(self.role, field.data):
            raise ValidationError(_("You cannot take away your own admin rights."))


def _loses_own_rights(role: Role, permissions: list[str] | None) -> bool:
    """Tell whether giving ``role`` these permissions (None: deleting it) locks the admin out."""
    if role not in current_user.roles:
        return False
    others = [r for r in current_user.roles if r is not role]
    after = _rights(others) | (set(permissions or ()) & OWN_ADMIN_RIGHTS)
    return bool(_rights(current_user.roles) - after)


# ---------------------------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------------------------


class ConfirmedFilter(BooleanEqualFilter):
    """Whether the address is confirmed, that is, confirmed_at is set."""

    def apply(self, query, value, alias=None):
        column = self.get_column(alias)
        return query.filter(column.is_not(None) if value else column.is_(None))


class RoleNames:
    """The role filter's choices, read from the database whenever the list page shows them.

    Flask-Admin reads filter options once when the view is built, before there is a database
    to ask, and iterates them again for every list page.
    """

    def __bool__(self) -> bool:
        return True

    def __iter__(self):
        return ((name, name) for name in db.session.scalars(select(Role.name).order_by(Role.name)))


class HasRoleFilter(FilterEqual):
    """Users who have the named role."""

    def apply(self, query, value, alias=None):
        return query.filter(User.roles.any(Role.name == value))


# ---------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------


def _roles_formatter(view, context, model, name) -> str:
    return ", ".join(sorted(role.name for role in model.roles))


def _appointment_count_formatter(view, context, model, name) -> int:
    """Read the count the list query brought; a single user (details) is counted here."""
    counts = g.get("admin_appointment_counts", {})
    if model.id in counts:
        return counts[model.id]
    return (
        db.session.scalar(
            select(func.count()).select_from(Appointment).where(Appointment.owner_id == model.id)
        )
        or 0
    )  # a count is never NULL


def _locked_until_formatter(view, context, model, name) -> str:
    """When the lock ends; nothing once it has ended."""
    if not lockout.is_locked(model):
        return ""
    return _datetime_formatter(view, model.locked_until, name)


def _language_formatter(view, context, model, name) -> str:
    return current_app.config["LANGUAGES"].get(model.locale, model.locale)


def _datetime_formatter(view, value, name) -> str:
    return datetime_filter(value, "short")


class UserAdmin(SchedModelView):
    """Accounts: staff read them, admins create, change, deactivate and delete them."""

    read_permission = USERS_READ
    write_permission = USERS_MANAGE
    can_view_details = True
    history_kind = "User"

    def deleted_along(self, models) -> list[str]:
        """Deleting a user deletes their appointments (the database's ON DELETE CASCADE)."""
        count = db.session.scalar(
            select(func.count())
            .select_from(Appointment)
            .where(Appointment.owner_id.in_([user.id for user in models]))
        )
        if not count:
            return []
        return [
            ngettext(
                "%(num)d appointment of theirs is deleted with them.",
                "%(num)d appointments of theirs are deleted with them.",
                count,
            )
        ]

    column_list = (
        "email",
        "full_name",
        "active",
        "confirmed_at",
        "roles",
        "current_login_at",
        "locked_until",
        "appointment_count",
    )
    column_details_list = (
        "email",
        "full_name",
        "active",
        "locked_until",
        "confirmed_at",
        "roles",
        "timezone",
        "locale",
        "appointment_count",
        "current_login_at",
        "current_login_ip",
        "last_login_at",
        "last_login_ip",
        "login_count",
        "create_datetime",
    )
    column_export_list = (
        "email",
        "full_name",
        "active",
        "confirmed_at",
        "roles",
        "timezone",
        "locale",
        "current_login_at",
        "appointment_count",
        "create_datetime",
    )
    # Should someone widen the lists above, the secrets still stay out.
    column_exclude_list = SECRET_COLUMNS
    column_details_exclude_list = SECRET_COLUMNS
    column_export_exclude_list = SECRET_COLUMNS
    form_excluded_columns = SECRET_COLUMNS

    column_labels = {
        "email": _l("E-mail address"),
        "full_name": _l("Name"),
        "active": _l("Active"),
        "confirmed_at": _l("Confirmed"),
        "roles": _l("Roles"),
        # Flask-Security's current_login_at is the latest login; last_login_at the one before.
        "current_login_at": _l("Last login"),
        "current_login_ip": _l("Last login from"),
        "last_login_at": _l("Previous login"),
        "last_login_ip": _l("Previous login from"),
        "login_count": _l("Logins"),
        "appointment_count": _l("Appointments"),
        "timezone": _l("Time zone"),
        "locale": _l("Language"),
        "create_datetime": _l("Created"),
        "locked_until": _l("Locked until"),
    }
    column_default_sort = "email"
    column_sortable_list = ("email", "full_name", "active", "confirmed_at", "current_login_at")
    column_searchable_list = ("email", "full_name")
    column_filters = (
        BooleanEqualFilter(User.active, _l("Active")),
        ConfirmedFilter(User.confirmed_at, _l("Confirmed")),
        HasRoleFilter(User.id, _l("Role"), options=RoleNames()),
    )
    # Roles come with selectinload in get_query; Flask-Admin's joinedload would fight LIMIT.
    column_auto_select_related = False

    column_formatters = {
        "roles": _roles_formatter,
        "appointment_count": _appointment_count_formatter,
        "locked_until": _locked_until_formatter,
    }
    column_formatters_detail = {**column_formatters, "locale": _language_formatter}
    column_formatters_export = column_formatters
    column_type_formatters = {**typefmt.BASE_FORMATTERS, datetime: _datetime_formatter}
    column_type_formatters_detail = {
        **typefmt.DETAIL_FORMATTERS,
        bool: typefmt.bool_formatter,
        datetime: _datetime_formatter,
    }
    column_type_formatters_export = {
        **typefmt.EXPORT_FORMATTERS,
        datetime: lambda view, value, name: _utc_iso(value),
    }

    form = UserEditForm

    def get_create_form(self):
        return UserCreateForm

    @property
    def can_export(self) -> bool:
        # A file of everyone's address is for those who manage the accounts.
        return self.can_write

    def is_action_allowed(self, name: str) -> bool:
        return self.can_write and super().is_action_allowed(name)

    # --- Reading -------------------------------------------------------------------------------

    def get_query(self):
        return super().get_query().options(selectinload(User.roles))

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        """Return a page of users; their appointment counts come in the same query."""
        count, query = super().get_list(
            page, sort_column, sort_desc, search, filters, execute=False, page_size=page_size
        )
        if not execute:
            return count, query
        rows = query.add_columns(APPOINTMENT_COUNT).all()
        g.admin_appointment_counts = {user.id: appointments for user, appointments in rows}
        return count, [user for user, _appointments in rows]

    # --- Changing ------------------------------------------------------------------------------

    def create_model(self, form: UserCreateForm):
        """Create the account through Flask-Security's datastore, confirmed, password hashed."""
        try:
            user = user_datastore.create_user(
                **form.account_fields(),
                password=hash_password(form.password.data),
                confirmed_at=naive_utcnow(),  # the admin vouches for the address
            )
            self._on_model_change(form, user, True)
            db.session.commit()
        except Exception as ex:
            db.session.rollback()
            if not self.handle_view_exception(ex):
                flash(admin_gettext("Failed to create record. %(error)s", error=str(ex)), "error")
                log.exception("Failed to create a user.")
            return False
        self.after_model_change(form, user, True)
        return user

    def on_model_change(self, form, model, is_created) -> None:
        deactivated = not is_created and False in get_history(model, "active").added
        super().on_model_change(form, model, is_created)
        if deactivated:
            _end_sessions(model)

    def delete_model(self, model) -> bool:
        if _is_current_user(model):
            flash(_("You cannot delete your own account."), "error")
            return False
        return super().delete_model(model)

    # --- Actions -------------------------------------------------------------------------------

    def _selected_users(self, ids) -> Sequence[User]:
        return db.session.scalars(select(User).where(User.id.in_(_ids(ids)))).all()

    @action(
        "activate",
        _l("Activate"),
        _l("Activate the selected users? They will be able to log in."),
    )
    def action_activate(self, ids) -> None:
        changed = [user for user in self._selected_users(ids) if user_datastore.activate_user(user)]
        for user in changed:
            audit.record_change(user, False)
        db.session.commit()
        flash(
            ngettext("%(num)d user was activated.", "%(num)d users were activated.", len(changed)),
            "success",
        )

    @action(
        "deactivate",
        _l("Deactivate"),
        _l("Deactivate the selected users? They are logged out everywhere and cannot log in."),
    )
    def action_deactivate(self, ids) -> None:
        users = self._selected_users(ids)
        if any(_is_current_user(user) for user in users):
            flash(_("You cannot deactivate your own account. Nobody was deactivated."), "error")
            return
        changed = [user for user in users if user_datastore.deactivate_user(user)]
        for user in changed:
            audit.record_change(user, False)
            _end_sessions(user)
        db.session.commit()
        flash(
            ngettext(
                "%(num)d user was deactivated.", "%(num)d users were deactivated.", len(changed)
            ),
            "success",
        )

    @action(
        "unlock",
        _l("Unlock"),
        _l("Unlock the selected accounts? Their owners can log in again at once."),
    )
    def action_unlock(self, ids) -> None:
        changed = []
        for user in self._selected_users(ids):
            if lockout.unlock(user):
                audit.record_change(user, False)
                changed.append(user)
        db.session.commit()
        flash(
            ngettext(
                "%(num)d account was unlocked.", "%(num)d accounts were unlocked.", len(changed)
            ),
            "success",
        )

    @action(
        "send_password_reset",
        _l("Send password reset e-mail"),
        _l("Send the selected users an e-mail with a link to choose a new password?"),
    )
    def action_send_password_reset(self, ids) -> None:
        users = self._selected_users(ids)
        active = [user for user in users if user.active]
        for user in active:
            # The e-mail speaks the recipient's language, not the admin's.
            with in_language_of(user):
                send_reset_password_instructions(user)
        db.session.commit()  # whatever the signal's receivers recorded
        flash(
            ngettext(
                "A password reset e-mail was sent to %(num)d user.",
                "A password reset e-mail was sent to %(num)d users.",
                len(active),
            ),
            "success",
        )
        if skipped := len(users) - len(active):
            flash(
                ngettext(
                    "%(num)d inactive user was skipped: activate the account first.",
                    "%(num)d inactive users were skipped: activate the accounts first.",
                    skipped,
                ),
                "warning",
            )


def _end_sessions(user: User) -> None:
    """Log the user out everywhere: sessions and remember cookies carry the old uniquifier."""
    user_datastore.set_uniquifier(user)
    end_sessions(user)


class RoleAdmin(SchedModelView):
    """Roles and the permissions they grant; for admins only."""

    read_permission = ROLES_MANAGE
    write_permission = ROLES_MANAGE
    history_kind = "Role"

    column_list = ("name", "description", "permissions")
    column_labels = {
        "name": _l("Name"),
        "description": _l("Description"),
        "permissions": _l("Permissions"),
    }
    column_default_sort = "name"
    column_sortable_list = ("name",)
    column_formatters = {
        "permissions": lambda view, context, model, name: ", ".join(model.permissions or ()),
    }

    form = RoleForm

    def delete_model(self, model) -> bool:
        if _loses_own_rights(model, None):
            flash(_("You cannot delete a role that your own admin rights depend on."), "error")
            return False
        return super().delete_model(model)


def add_views(admin) -> None:
    """Add the user and role views to the admin panel."""
    admin.add_view(UserAdmin(User, db, name=_l("Users"), endpoint="users"))
    admin.add_view(RoleAdmin(Role, db, name=_l("Roles"), endpoint="roles"))
