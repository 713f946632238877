"""Account forms: registration with profile fields, and the profile page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app
from flask_security import (
    ChangePasswordForm,
    ForgotPasswordForm,
    RegisterFormV2,
    SendConfirmationForm,
    VerifyForm,
    current_user,
)
from flask_security.utils import get_message
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import AnyOf, Length, Optional

from app.accounts import lockout
from app.core.fields import ReminderField
from app.core.gettext import lazy_gettext as _l
from app.core.timezones import timezone_names
from app.core.validators import NoControlCharacters, strip_whitespace

if TYPE_CHECKING:
    from flask_security.forms import Form, UserEmailFormMixin

    from app.accounts.models import User

    class _AddressForm(Form, UserEmailFormMixin):
        """The forms RefusesMalformedAddresses is mixed into, as type checkers see them."""

else:
    _AddressForm = object


class ProfileFieldsMixin:
    """Name, language and time zone, shared by registration and the profile page."""

    full_name = StringField(
        _l("Name"),
        filters=[strip_whitespace],
        validators=[Optional(), Length(max=255), NoControlCharacters()],
        render_kw={"autocomplete": "name"},
    )
    locale = SelectField(_l("Language"), default="en")
    timezone = SelectField(
        _l("Time zone"), default="UTC", render_kw={"data-suggest-timezone": "true"}
    )

    def set_profile_choices(self) -> None:
        languages = current_app.config["LANGUAGES"]
        self.locale.choices = list(languages.items())
        self.locale.validators = [AnyOf(list(languages), message=_l("Choose a language."))]
        self.timezone.choices = [(name, name.replace("_", " ")) for name in timezone_names()]


class RegisterForm(ProfileFieldsMixin, RegisterFormV2):
    """Flask-Security's registration form with the profile fields added."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_profile_choices()


class RefusesMalformedAddresses(_AddressForm):
    """Say so when the address typed cannot be one, on forms that never tell whether an
    address has an account (SECURITY_RETURN_GENERIC_RESPONSES).

    Flask-Security then drops every error of the address field, and answers as if the
    instructions had been sent: "sent to owner at example". The address's own form tells
    nothing about accounts, so its errors move to the form, where they stay.
    """

    def validate(self, **kwargs) -> bool:
        if super().validate(**kwargs):
            return True
        mail_util = current_app.extensions["security"].mail_util
        try:
            mail_util.validate(self.email.data or "")
        except ValueError:
            self.form_errors.extend(self.email.errors)
        return False


class ResetRequestForm(RefusesMalformedAddresses, ForgotPasswordForm):
    """/reset: the address to send password reset instructions to."""


class ConfirmRequestForm(RefusesMalformedAddresses, SendConfirmationForm):
    """/confirm: the address to send the confirmation link to again."""


class ReauthenticateForm(VerifyForm):
    """/verify: the password again, for a page that wants a fresh login. Flask-Security counts
    a wrong one like a failed login (``User.track_failed_authn``); a locked account is refused
    whatever it types (app/accounts/lockout.py)."""

    user: User  # the datastore's users are ours

    def validate(self, **kwargs) -> bool:
        if lockout.refuses_password_check(self.user, self.password):
            return False
        return super().validate(**kwargs)


class ChangeOwnPasswordForm(ChangePasswordForm):
    """/change: a wrong current password counts like a failed login (Flask-Security's form only
    says so); a locked account is refused whatever it types (app/accounts/lockout.py)."""

    def validate(self, **kwargs) -> bool:
        user = current_user._get_current_object()
        if lockout.refuses_password_check(user, self.password):
            return False
        if super().validate(**kwargs):
            return True
        if get_message("INVALID_PASSWORD")[0] in self.password.errors:
            user.track_failed_authn("password")
        return False


class ProfileForm(ProfileFieldsMixin, FlaskForm):
    reminder_minutes_default = ReminderField(
        _l("Reminder e-mail"),
        description=_l("What new appointments start with; each can have its own."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_profile_choices()
