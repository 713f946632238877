"""Account forms: registration with profile fields, and the profile page."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from flask import current_app
from flask_babel import get_locale
from flask_security import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    RegisterFormV2,
    ResetPasswordForm,
    SendConfirmationForm,
    VerifyForm,
    current_user,
)
from flask_security.utils import get_message
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import AnyOf, Length, Optional

from app.accounts import lockout
from app.accounts.messages import FIELD_LABELS
from app.core.fields import ReminderField
from app.core.gettext import lazy_gettext as _l
from app.core.timezones import offered_zone_for_links, timezone_choices
from app.core.validators import NoControlCharacters, strip_whitespace

if TYPE_CHECKING:
    from flask_security.forms import Form, UserEmailFormMixin

    from app.accounts.models import User

    class _AddressForm(Form, UserEmailFormMixin):
        """The forms RefusesMalformedAddresses is mixed into, as type checkers see them."""

else:
    _AddressForm = object


class OurLabels:
    """Flask-Security's form, with its labels in sched's words (app/accounts/messages.py)."""

    submit_label: object = None  # the submit button's, which differs from form to form
    labels: dict = {}  # this form's own, where they differ from FIELD_LABELS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        labels = {**FIELD_LABELS, **self.labels, "submit": self.submit_label}
        for name, label in labels.items():
            if label is not None and name in self:  # type: ignore[operator]  # a WTForms form
                self[name].label.text = label  # type: ignore[index]


class ProfileFieldsMixin:
    """Name, language and time zone, shared by registration and the profile page."""

    full_name = StringField(
        _l("Name"),
        filters=[strip_whitespace],
        validators=[Optional(), Length(max=255), NoControlCharacters()],
        render_kw={"autocomplete": "name"},
    )
    locale = SelectField(_l("Language"), default="en")
    # app.js suggests the browser's zone, by the offered zone an old name links to if need be.
    timezone = SelectField(
        _l("Time zone"),
        default="UTC",
        render_kw={"data-suggest-timezone": "true"},
    )

    def set_profile_choices(self, saved_timezone: str | None = None) -> None:
        """Offer the languages, and the time zones with ``saved_timezone`` kept among them."""
        languages = current_app.config["LANGUAGES"]
        self.locale.choices = list(languages.items())
        self.locale.validators = [AnyOf(list(languages), message=_l("Choose a language."))]
        self.timezone.choices = timezone_choices(get_locale(), saved_timezone)
        self.timezone.render_kw = {
            **(self.timezone.render_kw or {}),
            "data-timezone-links": json.dumps(offered_zone_for_links(), separators=(",", ":")),
        }


class LogInForm(OurLabels, LoginForm):
    """/login: a right password on an account whose address is not confirmed yet says so.

    Flask-Security answers it with the words a wrong password gets, which send the owner
    looking for a typo (SECURITY_RETURN_GENERIC_RESPONSES turns every error of the address and
    password fields into them). Only the right password earns the true reason, on the form
    itself, where the page offers to send the link again; anyone else still learns nothing
    about whether the address has an account.
    """

    submit_label = _l("Log in")
    needs_confirmation = False

    def validate(self, **kwargs) -> bool:
        if super().validate(**kwargs):
            return True
        unconfirmed = [get_message("CONFIRMATION_REQUIRED")[0]]
        # Only that error: not disabled, nor locked.
        if self.user_authenticated and self.ifield and self.ifield.errors == unconfirmed:
            self.ifield.errors = []
            self.form_errors.extend(unconfirmed)
            self.needs_confirmation = True
        return False


class RegisterForm(OurLabels, ProfileFieldsMixin, RegisterFormV2):
    """Flask-Security's registration form with the profile fields added."""

    submit_label = _l("Register")

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


class ResetRequestForm(OurLabels, RefusesMalformedAddresses, ForgotPasswordForm):
    """/reset: the address to send password reset instructions to."""

    submit_label = _l("Send the reset link")


class NewPasswordForm(OurLabels, ResetPasswordForm):
    """/reset/<token>: the new password."""

    submit_label = _l("Save the new password")


class ConfirmRequestForm(OurLabels, RefusesMalformedAddresses, SendConfirmationForm):
    """/confirm: the address to send the confirmation link to again."""

    submit_label = _l("Send the confirmation link")


class ReauthenticateForm(OurLabels, VerifyForm):
    """/verify: the password again, for a page that wants a fresh login. Flask-Security counts
    a wrong one like a failed login (``User.track_failed_authn``); a locked account is refused
    whatever it types (app/accounts/lockout.py)."""

    user: User  # the datastore's users are ours
    submit_label = _l("Continue")

    def validate(self, **kwargs) -> bool:
        if lockout.refuses_password_check(self.user, self.password):
            return False
        return super().validate(**kwargs)


class ChangeOwnPasswordForm(OurLabels, ChangePasswordForm):
    """/change: a wrong current password counts like a failed login (Flask-Security's form only
    says so); a locked account is refused whatever it types (app/accounts/lockout.py)."""

    submit_label = _l("Change password")
    labels = {"password": _l("Current password")}

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
        self.set_profile_choices(getattr(kwargs.get("obj"), "timezone", None))
