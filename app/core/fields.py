"""Form fields shared by the public forms and the admin panel's, of every feature.

A field that two forms need is written once, here: a date-time on the user's clock, a button
that confirms a warning, the choice of a reminder's lead time.
"""

from __future__ import annotations

from flask_babel import gettext as _
from wtforms import DateTimeLocalField, SelectField, SubmitField
from wtforms.validators import InputRequired

from app.core.filters import minutes_filter
from app.core.gettext import lazy_gettext as _l
from app.core.timezones import user_timezone
from app.core.validators import RealLocalTime

# What a browser's datetime-local input sends, with or without seconds, and what people type.
HTML_DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
# The reminder lead times offered, in minutes.
REMINDER_MINUTES = (10, 30, 60, 120, 24 * 60, 2 * 24 * 60, 7 * 24 * 60)


class LocalDateTimeField(DateTimeLocalField):
    """A date-time entered and shown on the user's clock; its data is timezone-aware."""

    def __init__(self, label=None, validators=(), **kwargs):
        super().__init__(
            label,
            [InputRequired(message=_l("Enter a date and time.")), *validators, RealLocalTime()],
            format=HTML_DATETIME_FORMATS,
            tz=user_timezone,
            invalid_value_message=_l("Enter a valid date and time."),
            **kwargs,
        )


class ConfirmButton(SubmitField):
    """A button that confirms a warning; it belongs to the request, not to the object saved."""

    def populate_obj(self, obj, name) -> None:
        pass


def _none_or_int(value):
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except ValueError:
        return value  # no choice of ours: the field says "Not a valid choice."


class ReminderField(SelectField):
    """How long before the start to send the reminder e-mail; empty for none."""

    def __init__(self, label=_l("Reminder"), **kwargs):
        super().__init__(label, coerce=_none_or_int, choices=reminder_choices, **kwargs)


def reminder_choices() -> list[tuple[int | None, str]]:
    choices: list[tuple[int | None, str]] = [(None, _("No reminder"))]
    for minutes in REMINDER_MINUTES:
        choices.append((minutes, _("%(time)s before", time=minutes_filter(minutes))))
    return choices
