"""Account forms: registration with profile fields, and the profile page."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_security import RegisterFormV2
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import AnyOf, Length, Optional

from app.core.timezones import timezone_names
from app.scheduling.reminders import ReminderField


class ProfileFieldsMixin:
    """Name, language and time zone, shared by registration and the profile page."""

    full_name = StringField(
        _l("Name"),
        validators=[Optional(), Length(max=255)],
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


class ProfileForm(ProfileFieldsMixin, FlaskForm):
    reminder_minutes_default = ReminderField(
        _l("Reminder e-mail"),
        description=_l("What new appointments start with; each can have its own."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_profile_choices()
