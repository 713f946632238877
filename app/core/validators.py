"""WTForms validators shared by the forms of every feature."""

from __future__ import annotations

import unicodedata

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from app.core.timezones import is_skipped_local_time

MIN_YEAR = 1900
MAX_YEAR = 2200

# Line breaks and tabs are text; every other control character is refused.
_ALLOWED_CONTROLS = {"\n", "\r", "\t"}


def strip_whitespace(value):
    return value.strip() if isinstance(value, str) else value


class NoControlCharacters:
    """Refuse NUL and other invisible control characters."""

    def __init__(self, message=None):
        self.message = message or _l("Remove the invisible control characters.")

    def __call__(self, form, field) -> None:
        if any(
            unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS
            for ch in field.data or ""
        ):
            raise ValidationError(self.message)


class RealLocalTime:
    """Accept a date-time that exists on the user's clock, within a sensible range of years."""

    def __call__(self, form, field) -> None:
        value = field.data
        if value is None:
            return
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            raise ValidationError(
                _l("Enter a year between %(min)d and %(max)d.", min=MIN_YEAR, max=MAX_YEAR)
            )
        if is_skipped_local_time(value):
            raise ValidationError(
                _l("This time does not exist in your time zone (the clocks change then).")
            )
