"""WTForms validators shared by the forms of every feature, and the rules they apply.

The rules for what people type, in one place:

- Text is stripped of surrounding white space; a required field with only white space is
  missing ("Enter a title.").
- One-line text (titles, locations, names) may hold no control character at all: no NUL,
  no escape, no line break or tab. Longer text (descriptions) may keep line breaks and tabs.
  Control characters are Unicode's category Cc: U+0000-U+001F, U+007F-U+009F.
- Years run from MIN_YEAR to MAX_YEAR (app/core/timezones.py): in forms, imported files and
  calendar addresses.
- A time must exist on the user's clock (not in the gap a daylight-saving change skips).
- Lengths are the database's (Length(max=...) with the column's size), in characters.
- A page that shows a sent form again with its errors answers 400 (app/core/errors.py).

Beyond forms (app/core/http.py, app/core/db.py): ids run from 1 to the database's integer
range (MAX_INT; past it, 404), no address holds a control character (400: neither the URL nor
a return address a form carries, nor an uploaded file's name), addresses and headers are of a
sensible size (else 414, 431), and request bodies are form data, or JSON objects for
Flask-Security's views (else 415), of at most MAX_CONTENT_LENGTH bytes (else 413). Calendar
addresses outside the years, or on a date that does not exist, answer 404; an admin list
filter's date outside them, 400 (app/admin/base.py).
"""

from __future__ import annotations

import unicodedata

from wtforms.validators import StopValidation, ValidationError

from app.core.gettext import lazy_gettext as _l
from app.core.timezones import MAX_YEAR, MIN_YEAR, in_calendar_years, is_skipped_local_time

# The control characters that multi-line text may keep: line breaks and tabs.
LINE_BREAKS_AND_TABS = frozenset("\n\r\t")


def strip_whitespace(value):
    return value.strip() if isinstance(value, str) else value


def has_control_characters(text: str, allowed: frozenset[str] = frozenset()) -> bool:
    """Tell whether ``text`` holds a control character other than the ``allowed`` ones."""
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text)


class NoControlCharacters:
    """Refuse NUL and other invisible control characters; ``multiline`` keeps line breaks
    and tabs.

    The field's other checks stop there: none of them (a look-up for a duplicate name, say)
    may take such a value to the database, which may refuse it (PostgreSQL refuses NUL).
    """

    def __init__(self, message=None, multiline: bool = False):
        self.message = message or _l("Remove the invisible control characters.")
        self.allowed = LINE_BREAKS_AND_TABS if multiline else frozenset()

    def __call__(self, form, field) -> None:
        if isinstance(field.data, str) and has_control_characters(field.data, self.allowed):
            raise StopValidation(self.message)


class RealLocalTime:
    """Accept a date-time that exists on the user's clock, within a sensible range of years."""

    def __call__(self, form, field) -> None:
        value = field.data
        if value is None:
            return
        if not in_calendar_years(value):
            raise ValidationError(
                _l("Enter a year between %(min)d and %(max)d.", min=MIN_YEAR, max=MAX_YEAR)
            )
        if is_skipped_local_time(value):
            raise ValidationError(
                _l("This time does not exist in your time zone (the clocks change then).")
            )
