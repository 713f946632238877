"""Scheduling forms: the appointment form, and the iCalendar import's upload and confirm."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, cast

from flask import current_app
from flask_babel import get_locale
from flask_security import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired, FileSize
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from wtforms import (
    BooleanField,
    DateField,
    Field,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.accounts.models import User
from app.core.fields import ConfirmButton, LocalDateTimeField, ReminderField
from app.core.gettext import lazy_gettext as _l
from app.core.timezones import (
    UTC,
    in_calendar_years,
    is_skipped_local_time,
    local_midnight,
    user_timezone,
)
from app.core.validators import NoControlCharacters, strip_whitespace
from app.scheduling.ical import ICalendarError, ParsedEvent, parse_ics
from app.scheduling.models import (
    CATEGORY_MAX,
    COLORS,
    DESCRIPTION_MAX,
    IDEMPOTENCY_KEY_LENGTH,
    LOCATION_MAX,
    TITLE_MAX,
    Appointment,
)
from app.scheduling.occurrences import Instance, clashing, series_clashing
from app.scheduling.recurrence import (
    COUNT_INVALID,
    INTERVAL_INVALID,
    MAX_COUNT,
    MAX_INTERVAL,
    UNTIL_BEFORE_START,
    Recurrence,
    RuleError,
    first_start,
    parse_rule,
    rule_parts,
    until_wall_clock,
)
from app.scheduling.summary import describe

PROPOSED_START_FORMAT = "%Y-%m-%dT%H:%M"
# What a date input sends: an all-day appointment's first or last day.
DAY_FORMAT = "%Y-%m-%d"
DAY_VALUE = re.compile(r"\d{4}-\d{2}-\d{2}")
PROPOSED_DURATION = timedelta(hours=1)
# What a create form's one-time key looks like (secrets.token_urlsafe).
IDEMPOTENCY_KEY = re.compile(rf"[A-Za-z0-9_-]{{{IDEMPOTENCY_KEY_LENGTH}}}")


# An edit made from a form older than the appointment is refused (see Appointment.version).
EDIT_CONFLICT = _l(
    "This appointment was changed meanwhile (in another tab or by someone else). Reload it to "
    "see the changes, then make your edit again."
)
DELETED_MEANWHILE = _l(
    "This appointment was deleted meanwhile (in another tab or by someone else)."
)
VERSION_INVALID = _l(
    "This form could not be matched with the saved appointment. Reload the page and make your "
    "edit again."
)


class VersionField(HiddenField):
    """The version of the appointment the form was filled from, sent back with the edit.

    The version counter belongs to the database (SQLAlchemy bumps it on every UPDATE), so the
    field never writes it to the appointment.
    """

    def process_formdata(self, valuelist) -> None:
        # Without this, a form sent without the field would keep the version just loaded.
        self.data = None
        try:
            self.data = int(valuelist[0])
        except (IndexError, ValueError):
            raise ValueError(VERSION_INVALID) from None

    def populate_obj(self, obj, name) -> None:
        pass


class StartOrEndField(LocalDateTimeField):
    """An appointment's start or end: a date and time on the user's clock, or, all day, a
    date alone (its data the start of that day).

    It shows as a date input while ``date_only`` is set (by the form, for an all-day
    appointment), else as a date and time; app.js switches it when "All day" changes.
    """

    data: Any  # as WTForms' fields have it: a validated form's is an aware datetime
    date_only = False
    # How the value came: True, a date alone; False, a date and time; None, not from the
    # request (the appointment's own, or a calendar link's: all day, days already).
    sent_a_day: bool | None = None

    def process_formdata(self, valuelist) -> None:
        self.sent_a_day = bool(valuelist) and DAY_VALUE.fullmatch(valuelist[0]) is not None
        if not self.sent_a_day:
            super().process_formdata(valuelist)
            return
        try:
            day = datetime.strptime(valuelist[0], DAY_FORMAT).date()
        except ValueError:
            self.data = None
            raise ValueError(self.invalid_value_message) from None
        zone = self._resolve_tz()  # the user's; the owner's for the admin's all-day dates
        # Past a gap the clocks skip at midnight (the day's first moment), which is real.
        self.data = local_midnight(day, zone).astimezone(UTC).astimezone(zone)

    def _value(self) -> str:
        if self.data is None:
            return super()._value()  # what was sent, if it could not be read
        local = self.data.astimezone(self._resolve_tz())
        return local.strftime(DAY_FORMAT if self.date_only else PROPOSED_START_FORMAT)

    def __call__(self, **kwargs):
        kwargs.setdefault("type", "date" if self.date_only else "datetime-local")
        return super().__call__(**kwargs)


def all_day_span(start: datetime, end: datetime, end_is_a_day: bool) -> tuple[datetime, datetime]:
    """Return the midnights of an all-day appointment's first and last day (both included),
    from the start and end on the user's clock.

    An end at midnight after the start's day closes the day before it, as it does for a timed
    appointment (and in iCalendar): Monday 00:00 to Tuesday 00:00 is Monday alone. An end
    that is a date alone is the last day itself.
    """
    first, last = start.date(), end.date()
    if not end_is_a_day and end.time() == time.min and last > first:
        last -= timedelta(days=1)
    return (
        local_midnight(first, cast(tzinfo, start.tzinfo)),
        local_midnight(last, cast(tzinfo, end.tzinfo)),
    )


# --- Repeats: the form's fields for a series' rule (app/scheduling/recurrence.py) ------------

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
FREQUENCIES = (
    SelectChoice("", _l("Does not repeat")),
    SelectChoice("DAILY", _l("Daily")),
    SelectChoice("WEEKLY", _l("Weekly")),
    SelectChoice("MONTHLY", _l("Monthly")),
    SelectChoice("YEARLY", _l("Yearly")),
)
FREQUENCY_NAMES = frozenset(choice.value for choice in FREQUENCIES if choice.value)
# A rule the fields below cannot say (an imported one): kept as it is, unless changed.
KEEP_RULE = "KEEP"
MONTHLY_BY = (
    SelectChoice("day", _l("On the same day of the month")),
    SelectChoice("weekday", _l("On the same weekday, counted from the start of the month")),
    SelectChoice("last", _l("On the same weekday, counted from the end of the month")),
)
ENDS = (
    SelectChoice("never", _l("Never")),
    SelectChoice("count", _l("After a number of times")),
    SelectChoice("until", _l("On a date")),
)
REPEAT_FIELDS = (
    "repeat",
    "repeat_interval",
    "repeat_weekdays",
    "repeat_monthly",
    "repeat_ends",
    "repeat_count",
    "repeat_until",
)
UNTIL_MISSING = _l("Enter the last day of the repeat.")
LAST_NOT_IN_LAST_WEEK = _l(
    "The start is not in the last week of its month: choose another way to repeat monthly."
)


def weekday_choices() -> list[SelectChoice]:
    """The weekdays, Monday first, by their names in the user's language."""
    names = get_locale().days["format"]["wide"]
    return [SelectChoice(code, names[index]) for index, code in enumerate(WEEKDAYS)]


class RepeatFields:
    """The fields that make a series' rule, and what they make of it (``rule``)."""

    repeat = SelectField(_l("Repeat"), choices=FREQUENCIES, default="")
    repeat_interval = IntegerField(
        _l("Every"),
        default=1,
        validators=[Optional(), NumberRange(1, MAX_INTERVAL, message=INTERVAL_INVALID)],
    )
    repeat_weekdays = SelectMultipleField(
        _l("On"),
        choices=weekday_choices,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    repeat_monthly = RadioField(_l("Each month"), choices=MONTHLY_BY, default="day")
    repeat_ends = RadioField(_l("Ends"), choices=ENDS, default="never")
    repeat_count = IntegerField(
        _l("Number of times"),
        validators=[Optional(), NumberRange(1, MAX_COUNT, message=COUNT_INVALID)],
    )
    repeat_until = DateField(_l("Last day"), validators=[Optional()])

    # The rule the fields make, as recurrence.parse_rule keeps it; None: no repeat. Set by
    # make_rule(), with ``start`` and ``end`` moved to its first occurrence if need be.
    rule: str | None = None
    kept_rule: str | None = None
    # The start of the occurrence the form was filled from, on the series' clock (set by the
    # view): a weekly series moved from Wednesday to Thursday repeats on Thursdays.
    moved_from: datetime | None = None

    def show_series(self, series, submitted: bool) -> None:
        """Fill the fields with a series' rule (from its first occurrence), or offer to keep a
        rule they cannot say; set the zone it repeats on."""
        recurrence = series.recurrence
        self.series_zone = recurrence.zone
        data = repeat_data(recurrence.rule, recurrence.start)
        if data is None:
            self.offer_kept_rule(
                recurrence.rule, describe(recurrence.rule, recurrence.start, recurrence.all_day)
            )
            if not submitted:
                self.repeat.data = KEEP_RULE
        elif not submitted:
            self.fill_repeat(data)

    def offer_kept_rule(self, rule: str, summary: str) -> None:
        """Offer to keep a series' rule the fields cannot say, and choose it."""
        self.kept_rule = rule
        field = cast(SelectField, self.repeat)
        field.choices = [SelectChoice(KEEP_RULE, summary), *FREQUENCIES]

    def without_repeat(self) -> None:
        """Leave the repeat fields out: an exception repeats no further."""
        for name in REPEAT_FIELDS:
            delattr(self, name)
        self.repeats = False

    # False once the fields are left out: the form then changes no rule.
    repeats = True

    def make_rule(self, start: datetime, all_day: bool) -> bool:
        """Make the rule from the fields for a series starting at ``start`` (aware, on the
        series' clock); False, with the errors next to their fields, if there is none."""
        if not self.repeats:
            return True
        frequency = self.repeat.data
        if not frequency:
            self.rule = None
            return True
        if frequency == KEEP_RULE and self.kept_rule is not None:
            text = self.kept_rule
        else:
            built = self._built_rule(frequency, start, all_day)
            if built is None:
                return False
            text = built
        try:
            self.rule = parse_rule(text, start)
        except RuleError as error:
            cast(Field, self.repeat).errors = [error.message]
            return False
        return True

    def _built_rule(self, frequency: str, start: datetime, all_day: bool) -> str | None:
        parts = [f"FREQ={frequency}"]
        interval = self.repeat_interval.data or 1
        if interval != 1:
            parts.append(f"INTERVAL={interval}")
        weekday = WEEKDAYS[start.weekday()]
        if frequency == "WEEKLY":
            chosen = set(self.repeat_weekdays.data or ()) or {weekday}
            if self.moved_from is not None:
                # An occurrence moved to another weekday takes its place among the chosen ones.
                before = WEEKDAYS[self.moved_from.weekday()]
                if before != weekday and before in chosen and weekday not in chosen:
                    chosen = (chosen - {before}) | {weekday}
            parts.append("BYDAY=" + ",".join(code for code in WEEKDAYS if code in chosen))
        elif frequency == "MONTHLY":
            by = self.repeat_monthly.data
            if by == "weekday":
                parts.append(f"BYDAY={(start.day - 1) // 7 + 1}{weekday}")
            elif by == "last":
                if (start + timedelta(days=7)).month == start.month:
                    cast(Field, self.repeat_monthly).errors = [LAST_NOT_IN_LAST_WEEK]
                    return None
                parts.append(f"BYDAY=-1{weekday}")
            else:
                parts.append(f"BYMONTHDAY={start.day}")
        ends = self.repeat_ends.data
        if ends == "count":
            if self.repeat_count.data is None:
                cast(Field, self.repeat_count).errors = [COUNT_INVALID]
                return None
            parts.append(f"COUNT={self.repeat_count.data}")
        elif ends == "until":
            last_day = self.repeat_until.data
            if last_day is None:
                cast(Field, self.repeat_until).errors = [UNTIL_MISSING]
                return None
            if last_day < start.date():
                cast(Field, self.repeat_until).errors = [UNTIL_BEFORE_START]
                return None
            parts.append(f"UNTIL={until_value(last_day, start, all_day)}")
        return ";".join(parts)

    def fill_repeat(self, data: dict) -> None:
        """Show a rule in the fields (``repeat_data``'s reading of it)."""
        for name, value in data.items():
            getattr(self, name).data = value


def repeat_data(rule: str, start: datetime, count: int | None = None) -> dict | None:
    """The repeat fields' data for a series' rule, read for an occurrence at ``start`` (on the
    series' clock), ``count`` times from it on; None for a rule the fields cannot say."""
    parts = rule_parts(rule)
    known = {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "COUNT", "UNTIL", "WKST"}
    frequency = parts["FREQ"]
    if parts.keys() - known or frequency not in FREQUENCY_NAMES:
        return None
    weekday = WEEKDAYS[start.weekday()]
    days = parts["BYDAY"].split(",") if "BYDAY" in parts else []
    same_day = parts.get("BYMONTHDAY", str(start.day)) == str(start.day)
    data: dict = {"repeat": frequency, "repeat_interval": int(parts.get("INTERVAL", "1"))}
    if frequency == "WEEKLY":
        if not set(days) <= set(WEEKDAYS) or "BYMONTHDAY" in parts:
            return None
        data["repeat_weekdays"] = days or [weekday]
    elif frequency == "MONTHLY":
        if days == [f"{(start.day - 1) // 7 + 1}{weekday}"] and "BYMONTHDAY" not in parts:
            data["repeat_monthly"] = "weekday"
        elif days == [f"-1{weekday}"] and "BYMONTHDAY" not in parts:
            data["repeat_monthly"] = "last"
        elif not days and same_day:
            data["repeat_monthly"] = "day"
        else:
            return None
    elif days or not same_day:
        return None
    if "COUNT" in parts:
        data["repeat_ends"] = "count"
        data["repeat_count"] = int(parts["COUNT"]) if count is None else count
    elif "UNTIL" in parts:
        data["repeat_ends"] = "until"
        data["repeat_until"] = until_wall_clock(parts["UNTIL"], start).date()
    else:
        data["repeat_ends"] = "never"
    return data


def until_value(last_day: date, start: datetime, all_day: bool) -> str:
    """UNTIL for a series whose last occurrence is on ``last_day`` at the latest: that date for
    an all-day series; for a timed one, the end of that day on the series' clock, in UTC, as
    RFC 5545 asks of a start with a time zone."""
    if all_day:
        return last_day.strftime("%Y%m%d")
    end_of_day = datetime.combine(last_day, time(23, 59, 59), tzinfo=start.tzinfo)
    return end_of_day.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


# The one rule every way of setting times keeps (the forms, the calendar's moves).
END_BEFORE_START = _l("The end must not be before the start.")

# The colours offered, by the CSS names they are kept as (models.COLORS), and none.
COLOR_CHOICES = [
    ("", _l("None")),
    *zip(
        COLORS,
        (_l("Blue"), _l("Green"), _l("Red"), _l("Orange"), _l("Purple"), _l("Teal"), _l("Grey")),
        strict=True,
    ),
]


class AppointmentForm(RepeatFields, FlaskForm):
    title = StringField(
        _l("Title"),
        filters=[strip_whitespace],
        validators=[
            DataRequired(message=_l("Enter a title.")),
            Length(max=TITLE_MAX),
            NoControlCharacters(),
        ],
    )
    # app.js turns the start and end into dates alone while "All day" is ticked.
    start = StartOrEndField(_l("Start"), render_kw={"data-day-or-time": ""})
    end = StartOrEndField(_l("End"), render_kw={"data-day-or-time": ""})
    all_day = BooleanField(_l("All day"), render_kw={"data-all-day": ""})
    location = StringField(
        _l("Location"),
        filters=[strip_whitespace],
        validators=[Length(max=LOCATION_MAX), NoControlCharacters()],
    )
    category = StringField(
        _l("Category"),
        filters=[strip_whitespace],
        validators=[Length(max=CATEGORY_MAX), NoControlCharacters()],
        render_kw={"placeholder": _l("Work, family, …")},
    )
    color = SelectField(_l("Colour"), choices=lambda: COLOR_CHOICES, default="")
    description = TextAreaField(
        _l("Description"),
        validators=[Length(max=DESCRIPTION_MAX), NoControlCharacters(multiline=True)],
    )
    reminder_minutes = ReminderField(_l("Reminder e-mail"))
    confirm_overlap = ConfirmButton(_l("Save anyway"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self._start_and_end():
            field.date_only = bool(self.all_day.data)

    def _start_and_end(self) -> tuple[StartOrEndField, StartOrEndField]:
        return self.start, self.end

    def _as_days(self) -> None:
        """Make the start and end an all-day appointment's first and last day (idempotent)."""
        start, end = self._start_and_end()
        if start.data is not None and end.data is not None:
            start.data, end.data = all_day_span(start.data, end.data, end.sent_a_day is not False)
            start.sent_a_day = end.sent_a_day = True
        start.date_only = end.date_only = True

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators) and self._whole_days_or_times()
        # Shown again as the fields now read: days for an all-day appointment, else times.
        if self.all_day.data:
            self._as_days()
        else:
            for field in self._start_and_end():
                field.date_only = False
        return valid

    def _whole_days_or_times(self) -> bool:
        if self.all_day.data:
            # An all-day appointment covers whole days on the user's clock.
            self._as_days()
        else:
            for field in self._start_and_end():
                if field.sent_a_day:
                    field.errors.append(_l("Enter a time as well, or choose “All day”."))
            if self.start.errors or self.end.errors:
                return False
        if self.end.data < self.start.data:
            self.end.errors.append(END_BEFORE_START)
            return False
        zone = self.series_zone or user_timezone()
        start = self.start.data.astimezone(zone)
        if not self.make_rule(start, self.all_day.data):
            return False
        if self.rule is not None:
            self._move_to_first_occurrence(start, zone)
        return True

    def _move_to_first_occurrence(self, start: datetime, zone: tzinfo) -> None:
        """Start a series on its rule's first occurrence: weekly on Tuesdays, typed from a
        Monday, starts the next day, at the same time on the clock."""
        rule = cast(str, self.rule)
        first = first_start(Recurrence(rule, start, self.end.data - self.start.data))
        if first is None or first == start:
            return
        # The same wall-clock times, so many days later.
        days = first.replace(tzinfo=None) - start.replace(tzinfo=None)
        user_zone = cast(tzinfo, self.start.data.tzinfo)
        for field in (self.start, self.end):
            wall_clock = field.data.astimezone(zone).replace(tzinfo=None) + days
            field.data = wall_clock.replace(tzinfo=zone).astimezone(user_zone)

    # The zone a series repeats on: the user's, or an edited series' own (set by the view).
    series_zone: tzinfo | None = None

    @property
    def series_timezone(self) -> str | None:
        """The zone name to keep with the rule; None without one."""
        if self.rule is None:
            return None
        return str(self.series_zone or user_timezone())

    def populate_obj(self, obj) -> None:
        for name, field in self._fields.items():
            if name not in REPEAT_FIELDS:
                field.populate_obj(obj, name)
        if self.repeats:
            obj.rrule = self.rule
            obj.series_timezone = self.series_timezone

    def overlaps_to_confirm(
        self, owner: User, editing: Appointment | None = None
    ) -> list[Instance]:
        """Return the owner's other appointments at the same time, unless the user saves anyway.

        Call it on a validated form, before copying the data to ``editing``.
        """
        if self.confirm_overlap.data:
            return []
        if self.rule is not None:
            zone = self.series_zone or user_timezone()
            recurrence = Recurrence(
                self.rule,
                self.start.data.astimezone(zone),
                self.end.data - self.start.data,
                self.all_day.data,
            )
            return series_clashing(owner, recurrence, user_timezone(), excluding=editing)
        return clashing(
            owner,
            self.start.data,
            self.end.data,
            self.all_day.data,
            user_timezone(),
            excluding=editing,
        )


class EditsVersion:
    """For a form that edits an existing appointment: the version it was filled from."""

    version = VersionField()

    def is_stale(self, appointment: Appointment) -> bool:
        """Tell whether the appointment changed since the form was filled; call after validate()."""
        return not self.version.errors and self.version.data != appointment.version


def _new_idempotency_key() -> str:
    return secrets.token_urlsafe(16)


def _well_formed_key(value: str | None) -> str | None:
    """The form's key as sent, or None for anything that is not one of ours."""
    if isinstance(value, str) and IDEMPOTENCY_KEY.fullmatch(value):
        return value
    return None


class AppointmentCreateForm(AppointmentForm):
    """The appointment form for a new appointment, with its one-time key: sent twice, it
    finds the appointment its first submission made (app/scheduling/views/appointments.py)."""

    idempotency_key = HiddenField(default=_new_idempotency_key, filters=[_well_formed_key])


class AppointmentEditForm(EditsVersion, AppointmentForm):
    """The appointment form for an existing appointment."""


SCOPES = (
    SelectChoice("this", _l("Only this one")),
    SelectChoice("following", _l("This and following")),
    SelectChoice("all", _l("All")),
)


class OccurrenceEditForm(AppointmentEditForm):
    """The appointment form for an occurrence of a series, with which ones to change.

    Its version is the series' (an exception's change is one of its series)."""

    scope = RadioField(_l("Change"), choices=SCOPES, default="this")

    def make_rule(self, start: datetime, all_day: bool) -> bool:
        if self.scope.data == "this":
            self.rule = None  # an occurrence of its own repeats no further
            return True
        return super().make_rule(start, all_day)

    def populate_occurrence(self, obj) -> None:
        """Copy what one occurrence can change (not the rule) to the object."""
        for name, field in self._fields.items():
            if name not in (*REPEAT_FIELDS, "scope"):
                field.populate_obj(obj, name)

    def populate_obj(self, obj) -> None:
        self.populate_occurrence(obj)
        obj.rrule = self.rule
        obj.series_timezone = self.series_timezone


class DeleteForm(FlaskForm):
    """Deleting an appointment from its page; for an occurrence of a series, which ones."""

    scope = RadioField(_l("Delete"), choices=SCOPES, default="this")
    version = VersionField()


def proposed_times(args: Mapping[str, str]) -> dict:
    """Read the start a calendar link proposes (``?start=2026-05-04T09:00&all_day=1``).

    Return the form's initial data: that start on the user's clock (moved past a gap the clocks
    skip), an end an hour later (the same day if all day); nothing if the start is missing or
    malformed.
    """
    try:
        naive = datetime.strptime(args.get("start", ""), PROPOSED_START_FORMAT)
    except ValueError:
        return {}
    zone = user_timezone()
    start = naive.replace(tzinfo=zone)
    if not in_calendar_years(start):
        return {}
    if is_skipped_local_time(start):
        # The week grid's 02:00 slot on the night the clocks skip it starts at 03:00 instead.
        start = start.astimezone(UTC).astimezone(zone)
    if args.get("all_day") == "1":
        start = _start_of_day(start)
        return {"start": start, "end": start, "all_day": True}
    # An hour of real time, which is not always an hour on the clock.
    end = (start.astimezone(UTC) + PROPOSED_DURATION).astimezone(zone)
    return {"start": start, "end": end}


def _start_of_day(value: datetime) -> datetime:
    # Aware: LocalDateTimeField's data is, and so is the proposed start.
    return local_midnight(value.date(), cast(tzinfo, value.tzinfo))


# --- iCalendar import: upload a file, then confirm its preview -----------------------------
# The preview carries the events it shows to the confirming POST in a signed, time-limited hidden
# field, so no server keeps anything between the two requests.

# The preview sends what it shows back in a hidden field: for the worst files (incompressible
# text) that is about 1.1 times the file, so the confirming request must fit the site's
# MAX_CONTENT_LENGTH (1 MiB). The test of the largest file checks this.
IMPORT_MAX_BYTES = 512 * 1024
IMPORT_SALT = "sched.ical-import"
IMPORT_MAX_AGE = 60 * 60  # seconds a preview stays valid
IMPORT_KEY_BYTES = 12  # 16 characters; with "." and 5 digits of index, the column's 22

PREVIEW_EXPIRED = _l("This preview is more than an hour old. Upload the file again.")
PREVIEW_INVALID = _l(
    "This preview could not be checked, so nothing was added. Upload the file again."
)


def _serializer() -> URLSafeTimedSerializer:
    secret_key = cast(str, current_app.secret_key)  # every configuration sets one
    return URLSafeTimedSerializer(secret_key, salt=IMPORT_SALT)


def sign_import(events: list[ParsedEvent], owner_id: int) -> str:
    """Pack the events to add for the confirming request, signed so they come back unchanged,
    with a one-time key: confirmed twice, the preview adds its events once."""
    return _serializer().dumps(
        {
            "owner": owner_id,
            "key": secrets.token_urlsafe(IMPORT_KEY_BYTES),
            "events": [e.to_dict() for e in events],
        }
    )


def import_idempotency_key(key: str, index: int) -> str:
    """The one-time key of the preview's ``index``-th event (unique per owner, as the create
    form's are; ``IMPORT_KEY_BYTES`` leaves room in the column for the index)."""
    return f"{key}.{index:05d}"


class ImportUploadForm(FlaskForm):
    """An .ics file, read and checked; ``events`` and ``payload`` hold the result."""

    file = FileField(
        _l("iCalendar file"),
        validators=[
            FileRequired(message=_l("Choose an .ics file.")),
            FileAllowed(["ics"], message=_l("Choose a file whose name ends in .ics.")),
            FileSize(
                max_size=IMPORT_MAX_BYTES,
                message=_l(
                    "The file is larger than %(size)d KiB. Split it into smaller files.",
                    size=IMPORT_MAX_BYTES // 1024,
                ),
            ),
        ],
        render_kw={"accept": ".ics,text/calendar"},
    )

    events: list[ParsedEvent]
    payload: str

    @property
    def events_to_add(self) -> list[ParsedEvent]:
        return [event for event in self.events if event.problem is None]

    @property
    def events_skipped(self) -> list[ParsedEvent]:
        return [event for event in self.events if event.problem is not None]

    def validate_file(self, field) -> None:
        if field.errors:  # FileSize lets the chain run on
            return
        try:
            self.events = parse_ics(field.data.read(), user_timezone())
        except ICalendarError as error:
            raise ValidationError(error.message) from None
        self.payload = sign_import(self.events_to_add, current_user.id)


class ImportConfirmForm(FlaskForm):
    """The preview's confirm button; ``events`` holds what it carried, checked."""

    payload = HiddenField()

    events: list[ParsedEvent]
    key: str | None

    def validate_payload(self, field) -> None:
        try:
            data = _serializer().loads(field.data or "", max_age=IMPORT_MAX_AGE)
        except SignatureExpired:
            raise ValidationError(PREVIEW_EXPIRED) from None
        except BadData:
            raise ValidationError(PREVIEW_INVALID) from None
        if data.get("owner") != current_user.id:
            raise ValidationError(PREVIEW_INVALID)
        self.events = [ParsedEvent.from_dict(values) for values in data["events"]]
        self.key = data.get("key")  # None in a preview signed before keys were added
