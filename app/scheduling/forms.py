"""Scheduling forms: the appointment form, and the iCalendar import's upload and confirm."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta, tzinfo
from typing import cast

from flask import current_app
from flask_security import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired, FileSize
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

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
    DESCRIPTION_MAX,
    IDEMPOTENCY_KEY_LENGTH,
    LOCATION_MAX,
    TITLE_MAX,
    Appointment,
)
from app.scheduling.occurrences import Instance, clashing

PROPOSED_START_FORMAT = "%Y-%m-%dT%H:%M"
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
        validators=[Length(max=DESCRIPTION_MAX), NoControlCharacters(multiline=True)],
    )
    reminder_minutes = ReminderField(_l("Reminder e-mail"))
    confirm_overlap = ConfirmButton(_l("Save anyway"))

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

    def overlaps_to_confirm(
        self, owner: User, editing: Appointment | None = None
    ) -> list[Instance]:
        """Return the owner's other appointments at the same time, unless the user saves anyway.

        Call it on a validated form, before copying the data to ``editing``.
        """
        if self.confirm_overlap.data:
            return []
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
