"""The appointment form: what the user types, checked before anything is stored."""

from __future__ import annotations

from datetime import datetime, time

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from app.core.timezones import user_timezone
from app.core.validators import NoControlCharacters, RealLocalTime, strip_whitespace
from app.scheduling.models import LOCATION_MAX, TITLE_MAX

DESCRIPTION_MAX = 10_000
HTML_DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


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


class AppointmentForm(FlaskForm):
    title = StringField(
        _l("Title"),
        filters=[strip_whitespace],
        validators=[
            DataRequired(message=_l("Enter a title.")),
            Length(max=TITLE_MAX),
            NoControlCharacters(),
        ],
    )
    start = LocalDateTimeField(_l("Start"))
    end = LocalDateTimeField(_l("End"))
    all_day = BooleanField(_l("All day"))
    location = StringField(
        _l("Location"),
        filters=[strip_whitespace],
        validators=[Length(max=LOCATION_MAX), NoControlCharacters()],
    )
    description = TextAreaField(
        _l("Description"),
        validators=[Length(max=DESCRIPTION_MAX), NoControlCharacters()],
    )

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.all_day.data:
            # An all-day appointment covers whole days on the user's clock.
            self.start.data = _start_of_day(self.start.data)
            self.end.data = _start_of_day(self.end.data)
        if self.end.data < self.start.data:
            self.end.errors.append(_l("The end must not be before the start."))
            return False
        return True


def _start_of_day(value: datetime) -> datetime:
    return datetime.combine(value.date(), time.min, tzinfo=value.tzinfo)
