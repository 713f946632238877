"""Bad input on every route: a clear 4xx answer, and nothing stored.

One table, one test. Each case says who sends what where, the status that must come back, a
piece of the message the user must see (next to the form field, when the input came from a
form) and, with that, that no row of the database and no catalog file changed.
To add a case, add a line to the table in the section of its route family.

One app and database serve every case (each must leave them as they were, which the test
checks anyway); each kind of visitor logs in once.
"""

from __future__ import annotations

import html as html_lib
import io
import json
import re
import shutil
from dataclasses import dataclass
from dataclasses import field as default
from pathlib import Path
from typing import Any

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app import create_app
from app.admin.models import TranslationEdit
from app.admin.translations import fingerprint
from app.core import catalogs
from app.extensions import db
from tests.support.browser import Browser, RequestIsolatingClient
from tests.support.factories import appointment_form, make_appointment, make_feed_token, make_user
from tests.support.paths import PROJECT_DIR
from tests.support.snapshot import snapshot

BIG = "99999999999999999999"  # past any integer column (PostgreSQL's bigint included)
JUST_PAST_INT = str(2**31)  # past PostgreSQL's integer
MIB = 1024 * 1024
FOOTER = "sched: appointments, kept simply."  # a catalog entry the console edits
PLACEHOLDER_MSGID = "Appointment “%(title)s” created."

WHO = {
    "user": "owner@example.com",
    "staff": "staff@example.com",
    "admin": "admin@example.com",
    "translator": "translator@example.com",
}
# The page each kind of visitor takes its CSRF token from.
TOKEN_PAGE = {"anonymous": "/login", "translator": "/admin/", "default": "/appointments/"}


@dataclass(frozen=True)
class Case:
    """One bad request and what its answer must be.

    ``path`` and ``form`` values may name the test data (see Site): {appointment} (the user's
    appointment) and its {version}, {user} (the user's id), {token} (their calendar feed
    token), {key} (a catalog entry), {edit} (a saved translation edit), {start_filter} (an
    admin list filter's URL key)... ``form`` is sent as a browser sends a form, with a valid
    CSRF token unless ``csrf`` is false, and ``files`` as uploads; ``json`` as a JSON body;
    ``body`` as it is, with ``content_type``; ``headers`` as well. ``field`` is the form field
    the message must sit next to.
    """

    name: str
    method: str
    path: str
    status: int
    message: str = ""
    who: str = "user"  # anonymous, user, staff, admin, translator
    form: dict[str, Any] | None = None
    json: Any = None
    body: bytes | None = None
    content_type: str | None = None
    field: str | None = None
    csrf: bool = True
    files: dict[str, tuple[bytes, str]] = default(default_factory=dict)
    headers: dict[str, str] = default(default_factory=dict)
    allow: str | None = None  # a method the Allow header of a 405 must name

    def __str__(self) -> str:
        return self.name


def edit_form(**changes) -> dict:
    """The appointment form as its edit page sends it, with the version it was filled from."""
    return appointment_form(version="{version}", **changes)


def admin_appointment_form(**changes) -> dict:
    return appointment_form(owner="{user}", **changes)


def register_form(**changes) -> dict:
    data = {
        "email": "new@example.com",
        "password": "a long enough password",
        "password_confirm": "a long enough password",
        "full_name": "New Person",
        "locale": "en",
        "timezone": "Europe/Paris",
    }
    data.update(changes)
    return data


def user_form(**changes) -> dict:
    data = {
        "email": "new@example.com",
        "password": "a long enough password",
        "full_name": "New Person",
        "locale": "en",
        "timezone": "UTC",
        "active": "y",
    }
    data.update(changes)
    return data


INVALID_CHARACTERS = "Remove the invisible control characters."
TOO_LONG_255 = "Field cannot be longer than 255 characters."
NOT_A_DATE_TIME = "Enter a valid date and time."
YEAR_RANGE = "Enter a year between 1900 and 2200."
CALENDAR_YEARS = "The calendar covers the years 1900 to 2200."
NO_SUCH_DATE = "There is no such date in the calendar."
DATE_FORMAT = "Give the date as YYYY-MM-DD"
NOT_FOUND = "The page you asked for does not exist."
NO_RECORD = "Record does not exist."
TOO_LARGE = "What you sent is larger than this site accepts."
NOT_JSON = "The request body is not valid JSON."
NOT_AN_OBJECT = "The request body is not a JSON object."
FORMS_ONLY = "This page accepts only form data, as a browser sends it."
CONTROL_IN_ADDRESS = "The address contains an invisible control character."
NOT_ALLOWED = "This page cannot be used that way."
NOT_A_CHOICE = "Not a valid choice."
LOGIN_FAILED = "Authentication failed"
NESTED_JSON = "The request body is nested too deeply to read."
FILE_NAME_CONTROL = "The name of the file you sent contains an invisible control character."
NO_SUCH_PAGE = "This list has no such page."
INVALID_FILTER = "Invalid Filter Value"
ADDRESS_TOO_LONG = "The address is longer than this site accepts."
HEADERS_TOO_LARGE = "The request’s headers (its cookies, say) are larger than this site accepts."
DEEP_JSON = b"[" * 4096  # past the recursion limit of Python's JSON parser
DEEP_JSON_OBJECT = b'{"email": ' * 2048
# Files a page would take, but for their names.
ONE_EVENT_ICS = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//test//EN\r\nBEGIN:VEVENT\r\n"
    b"UID:1@example.com\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260115T100000Z\r\n"
    b"DTEND:20260115T110000Z\r\nSUMMARY:Dentist\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
FOOTER_CATALOG = (
    'msgid ""\nmsgstr ""\n"Language: fr\\n"\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
    f'msgid "{FOOTER}"\nmsgstr "Des rendez-vous, simplement."\n'
).encode()


APPOINTMENTS = [
    # Create: text fields.
    Case("title only spaces", "POST", "/appointments/create/", 400, "Enter a title.",
         form=appointment_form(title=" \t  "), field="title"),
    Case("title too long", "POST", "/appointments/create/", 400, TOO_LONG_255,
         form=appointment_form(title="x" * 256), field="title"),
    Case("title with NUL", "POST", "/appointments/create/", 400, INVALID_CHARACTERS,
         form=appointment_form(title="Den\x00tist"), field="title"),
    Case("title with escape", "POST", "/appointments/create/", 400, INVALID_CHARACTERS,
         form=appointment_form(title="\x1b[31mDentist"), field="title"),
    Case("title with DEL", "POST", "/appointments/create/", 400, INVALID_CHARACTERS,
         form=appointment_form(title="Dentist\x7f"), field="title"),
    Case("title with a newline", "POST", "/appointments/create/", 400, INVALID_CHARACTERS,
         form=appointment_form(title="Den\ntist"), field="title"),
    Case("title with C1 control", "POST", "/appointments/create/", 400, INVALID_CHARACTERS,
         form=appointment_form(title="Den\x85tist"), field="title"),
    Case("location with bell", "POST", "/appointments/create/", 400, INVALID_CHARACTERS,
         form=appointment_form(location="Main\x07 street"), field="location"),
    Case("location too long", "POST", "/appointments/create/", 400, TOO_LONG_255,
         form=appointment_form(location="y" * 256), field="location"),
    Case("description with NUL", "POST", "/appointments/create/", 400, INVALID_CHARACTERS,
         form=appointment_form(description="Bring\x00 the card"), field="description"),
    Case("description too long", "POST", "/appointments/create/", 400,
         "Field cannot be longer than 10000 characters.",
         form=appointment_form(description="z" * 10_001), field="description"),
    # Create: dates and times.
    Case("start missing", "POST", "/appointments/create/", 400, "Enter a date and time.",
         form=appointment_form(start=""), field="start"),
    Case("start 30 February", "POST", "/appointments/create/", 400, NOT_A_DATE_TIME,
         form=appointment_form(start="2025-02-30T10:00"), field="start"),
    Case("start 31 April", "POST", "/appointments/create/", 400, NOT_A_DATE_TIME,
         form=appointment_form(start="2025-04-31T10:00"), field="start"),
    Case("start hour 25", "POST", "/appointments/create/", 400, NOT_A_DATE_TIME,
         form=appointment_form(start="2026-01-15T25:00"), field="start"),
    Case("start year 0", "POST", "/appointments/create/", 400, NOT_A_DATE_TIME,
         form=appointment_form(start="0000-01-01T10:00"), field="start"),
    Case("start year 99999", "POST", "/appointments/create/", 400, NOT_A_DATE_TIME,
         form=appointment_form(start="99999-01-01T10:00"), field="start"),
    Case("start year 1899", "POST", "/appointments/create/", 400, YEAR_RANGE,
         form=appointment_form(start="1899-12-31T23:59"), field="start"),
    Case("end year 2201", "POST", "/appointments/create/", 400, YEAR_RANGE,
         form=appointment_form(end="2201-01-01T00:00"), field="end"),
    Case("start not a date", "POST", "/appointments/create/", 400, NOT_A_DATE_TIME,
         form=appointment_form(start="next tuesday"), field="start"),
    Case("start with NUL", "POST", "/appointments/create/", 400, NOT_A_DATE_TIME,
         form=appointment_form(start="2026-01-15T10:00\x00"), field="start"),
    Case("end before start", "POST", "/appointments/create/", 400,
         "The end must not be before the start.",
         form=appointment_form(end="2026-01-15T09:59"), field="end"),
    Case("all day ends the day before", "POST", "/appointments/create/", 400,
         "The end must not be before the start.",
         form=appointment_form(start="2026-01-15T00:00", end="2026-01-14T23:00", all_day="y"),
         field="end"),
    Case("reminder not a number", "POST", "/appointments/create/", 400, "Not a valid choice",
         form=appointment_form(reminder_minutes="soon"), field="reminder_minutes"),
    Case("reminder huge", "POST", "/appointments/create/", 400, NOT_A_CHOICE,
         form=appointment_form(reminder_minutes=BIG), field="reminder_minutes"),
    # Create: the body itself.
    Case("create as JSON", "POST", "/appointments/create/", 415, FORMS_ONLY,
         json={"title": "Dentist", "start": "2026-01-15T10:00", "end": "2026-01-15T11:00"}),
    Case("create as JSON, title a number", "POST", "/appointments/create/", 415, FORMS_ONLY,
         json={"title": 5, "start": "2026-01-15T10:00"}),
    Case("create as JSON, a list", "POST", "/appointments/create/", 415, FORMS_ONLY,
         json=["Dentist"]),
    Case("create with deeply nested JSON", "POST", "/appointments/create/", 415, FORMS_ONLY,
         body=DEEP_JSON, content_type="application/json"),
    Case("create with malformed JSON", "POST", "/appointments/create/", 415, FORMS_ONLY,
         body=b'{"title": "Dentist",', content_type="application/json"),
    Case("create as plain text", "POST", "/appointments/create/", 415, FORMS_ONLY,
         body=b"title=Dentist", content_type="text/plain"),
    Case("create over 1 MiB", "POST", "/appointments/create/", 413, TOO_LARGE,
         form=appointment_form(description="z" * MIB)),
    Case("create with PUT", "PUT", "/appointments/create/", 405, NOT_ALLOWED,
         form=appointment_form(), allow="POST"),
    # Edit.
    Case("edit title with NUL", "POST", "/appointments/{appointment}/edit/", 400,
         INVALID_CHARACTERS, form=edit_form(title="\x00"), field="title"),
    Case("edit title only spaces", "POST", "/appointments/{appointment}/edit/", 400,
         "Enter a title.", form=edit_form(title="   "), field="title"),
    Case("edit end before start", "POST", "/appointments/{appointment}/edit/", 400,
         "The end must not be before the start.",
         form=edit_form(end="2026-01-14T11:00"), field="end"),
    Case("edit start 29 February 2025", "POST", "/appointments/{appointment}/edit/", 400,
         NOT_A_DATE_TIME, form=edit_form(start="2025-02-29T10:00"), field="start"),
    Case("edit id too large", "POST", f"/appointments/{BIG}/edit/", 404, NOT_FOUND,
         form=appointment_form()),
    Case("edit id not a number", "GET", "/appointments/abc/edit/", 404, NOT_FOUND),
    Case("edit with DELETE", "DELETE", "/appointments/{appointment}/edit/", 405, NOT_ALLOWED,
         allow="POST"),
    # Detail.
    Case("detail id too large", "GET", f"/appointments/{BIG}/", 404, NOT_FOUND),
    Case("detail id past integer", "GET", f"/appointments/{JUST_PAST_INT}/", 404, NOT_FOUND),
    Case("detail id negative", "GET", "/appointments/-1/", 404, NOT_FOUND),
    Case("detail id zero", "GET", "/appointments/0/", 404, NOT_FOUND),
    Case("detail id not a number", "GET", "/appointments/one/", 404, NOT_FOUND),
    Case("ics id too large", "GET", f"/appointments/{BIG}/ics", 404, NOT_FOUND),
    # Delete.
    Case("delete id too large", "DELETE", f"/appointments/{BIG}/delete/", 404, NOT_FOUND),
    Case("delete id past integer", "DELETE", f"/appointments/{JUST_PAST_INT}/delete/", 404,
         NOT_FOUND),
    Case("delete id not a number", "DELETE", "/appointments/abc/delete/", 404, NOT_FOUND),
    Case("delete with GET", "GET", "/appointments/{appointment}/delete/", 405, NOT_ALLOWED,
         allow="DELETE"),
    Case("delete with POST", "POST", "/appointments/{appointment}/delete/", 405, NOT_ALLOWED,
         form={}, allow="DELETE"),
    Case("delete with a deeply nested JSON body", "DELETE",
         "/appointments/{appointment}/delete/", 415, FORMS_ONLY, body=DEEP_JSON,
         content_type="application/json"),
    Case("delete with a JSON body", "DELETE", "/appointments/{appointment}/delete/", 415,
         FORMS_ONLY, body=b"{", content_type="application/json"),
    # List.
    Case("list page not a number", "GET", "/appointments/?page=two", 404, NOT_FOUND),
    Case("list page zero", "GET", "/appointments/?page=0", 404, NOT_FOUND),
    Case("list page huge", "GET", f"/appointments/?page={BIG}", 404, NOT_FOUND),
]

CALENDAR = [
    Case("month 13", "GET", "/calendar/month/2025/13/", 404, NO_SUCH_DATE),
    Case("month 0", "GET", "/calendar/month/2025/0/", 404, NO_SUCH_DATE),
    Case("month year 0", "GET", "/calendar/month/0/1/", 404, CALENDAR_YEARS),
    Case("month year 99999", "GET", "/calendar/month/99999/1/", 404, CALENDAR_YEARS),
    Case("month year huge", "GET", f"/calendar/month/{BIG}/1/", 404, CALENDAR_YEARS),
    Case("month year 1899", "GET", "/calendar/month/1899/12/", 404, CALENDAR_YEARS),
    Case("month not a number", "GET", "/calendar/month/2025/may/", 404, NOT_FOUND),
    Case("week 30 February", "GET", "/calendar/week/2025/2/30/", 404, NO_SUCH_DATE),
    Case("week year 0", "GET", "/calendar/week/0/1/1/", 404, CALENDAR_YEARS),
    Case("week day 32", "GET", "/calendar/week/2025/1/32/", 404, NO_SUCH_DATE),
    Case("day 30 February", "GET", "/calendar/day/2025/2/30/", 404, NO_SUCH_DATE),
    Case("day 29 February 2100", "GET", "/calendar/day/2100/2/29/", 404, NO_SUCH_DATE),
    Case("day 31 April", "GET", "/calendar/day/2025/4/31/", 404, NO_SUCH_DATE),
    Case("day year 99999", "GET", "/calendar/day/99999/1/1/", 404, CALENDAR_YEARS),
    Case("day month huge", "GET", f"/calendar/day/2025/{BIG}/1/", 404, NO_SUCH_DATE),
    Case("day not a number", "GET", "/calendar/day/2025/1/first/", 404, NOT_FOUND),
    Case("agenda 30 February", "GET", "/calendar/agenda/?start=2025-02-30", 400, DATE_FORMAT),
    Case("agenda year 0", "GET", "/calendar/agenda/?start=0000-01-01", 400, DATE_FORMAT),
    Case("agenda year 99999", "GET", "/calendar/agenda/?start=99999-01-01", 400, DATE_FORMAT),
    Case("agenda year 1800", "GET", "/calendar/agenda/?start=1800-01-01", 404, CALENDAR_YEARS),
    Case("agenda not a date", "GET", "/calendar/agenda/?start=tomorrow", 400, DATE_FORMAT),
    Case("agenda NUL", "GET", "/calendar/agenda/?start=%00", 400, CONTROL_IN_ADDRESS),
    Case("agenda page not a number", "GET", "/calendar/agenda/?page=two", 404, NOT_FOUND),
    Case("agenda page huge", "GET", f"/calendar/agenda/?page={BIG}", 404, NOT_FOUND),
    Case("jump 30 February", "GET", "/calendar/jump?view=day&date=2025-02-30", 400,
         DATE_FORMAT),
    Case("jump year 99999", "GET", "/calendar/jump?view=day&date=99999-01-01", 400,
         DATE_FORMAT),
    Case("jump year 1", "GET", "/calendar/jump?view=day&date=0001-01-01", 404, CALENDAR_YEARS),
    Case("month with POST", "POST", "/calendar/month/2026/1/", 405, NOT_ALLOWED, form={},
         allow="GET"),
]

ICALENDAR = [
    Case("export 30 February", "GET", "/calendar/export.ics?from=2025-02-30&to=2025-03-02",
         400, "Give the dates as YYYY-MM-DD"),
    Case("export year 99999", "GET", "/calendar/export.ics?from=99999-01-01&to=99999-01-02",
         400, "Give the dates as YYYY-MM-DD"),
    Case("export year 1800", "GET", "/calendar/export.ics?from=1800-01-01&to=1800-01-02",
         400, YEAR_RANGE),
    Case("export one date only", "GET", "/calendar/export.ics?from=2026-01-01", 400,
         "Give both dates"),
    Case("export backwards", "GET", "/calendar/export.ics?from=2026-02-01&to=2026-01-01", 400,
         "The end date must not be before the start date."),
    Case("feed bad token", "GET", "/calendar/feed/not-a-token.ics", 404, NOT_FOUND,
         who="anonymous"),
    Case("feed token with NUL", "GET", "/calendar/feed/%00.ics", 400, CONTROL_IN_ADDRESS,
         who="anonymous"),
    Case("feed token very long", "GET", f"/calendar/feed/{'t' * 5000}.ics", 404, NOT_FOUND,
         who="anonymous"),
    Case("feed with POST", "POST", "/calendar/feed/{token}.ics", 405, NOT_ALLOWED,
         who="anonymous", form={}, csrf=False, allow="GET"),
    Case("import without file", "POST", "/calendar/import/", 400, "Choose an .ics file.",
         form={}, field="file"),
    Case("import not .ics", "POST", "/calendar/import/", 400,
         "Choose a file whose name ends in .ics.",
         form={}, files={"file": (b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "cal.txt")},
         field="file"),
    Case("import not a calendar", "POST", "/calendar/import/", 400,
         "This file is not an iCalendar file",
         form={}, files={"file": (b"hello\x00world", "cal.ics")}, field="file"),
    Case("import over the file limit", "POST", "/calendar/import/", 400,
         "The file is larger than 512 KiB.",
         form={}, files={"file": (b"x" * (600 * 1024), "cal.ics")}, field="file"),
    Case("import over 1 MiB", "POST", "/calendar/import/", 413, TOO_LARGE,
         form={}, files={"file": (b"x" * (MIB + 1), "cal.ics")}),
    Case("import file name with NUL", "POST", "/calendar/import/", 400, FILE_NAME_CONTROL,
         form={}, files={"file": (ONE_EVENT_ICS, "cal\x00.ics")}),
    Case("import confirm tampered", "POST", "/calendar/import/confirm/", 400,
         "This preview could not be checked", form={"payload": "forged"}),
    Case("import confirm with NUL", "POST", "/calendar/import/confirm/", 400,
         "This preview could not be checked", form={"payload": "\x00"}),
    Case("new feed token with GET", "GET", "/account/calendar-token", 405, NOT_ALLOWED,
         allow="POST"),
]

ACCOUNTS = [
    Case("profile unknown language", "POST", "/account/", 400, NOT_A_CHOICE,
         form={"full_name": "Olive", "locale": "xx", "timezone": "UTC"}, field="locale"),
    Case("profile unknown time zone", "POST", "/account/", 400, NOT_A_CHOICE,
         form={"full_name": "Olive", "locale": "en", "timezone": "Mars/Olympus"},
         field="timezone"),
    Case("profile name with NUL", "POST", "/account/", 400, INVALID_CHARACTERS,
         form={"full_name": "Ol\x00ive", "locale": "en", "timezone": "UTC"}, field="full_name"),
    Case("profile name too long", "POST", "/account/", 400, TOO_LONG_255,
         form={"full_name": "o" * 256, "locale": "en", "timezone": "UTC"}, field="full_name"),
    Case("profile reminder not a number", "POST", "/account/", 400, "Not a valid choice",
         form={"locale": "en", "timezone": "UTC", "reminder_minutes_default": "x"},
         field="reminder_minutes_default"),
    Case("profile with PUT", "PUT", "/account/", 405, NOT_ALLOWED, form={}, allow="POST"),
    # The language menu.
    Case("language unknown", "POST", "/language", 400, "This language is not available.",
         who="anonymous", form={"language": "xx"}),
    Case("language empty", "POST", "/language", 400, "This language is not available.",
         who="anonymous", form={"language": ""}),
    Case("language with NUL", "POST", "/language", 400, "This language is not available.",
         who="anonymous", form={"language": "en\x00"}),
    Case("language a path", "POST", "/language", 400, "This language is not available.",
         form={"language": "../../etc"}),
    Case("language with GET", "GET", "/language", 405, NOT_ALLOWED, who="anonymous",
         allow="POST"),
    Case("language return address with a line break", "POST", "/language", 400,
         CONTROL_IN_ADDRESS, who="anonymous", form={"language": "fr", "next": "/\r\nX: 1"}),
    # Flask-Security: log in, register, reset, confirm, change.
    # Logins never say whether an address has an account (SECURITY_RETURN_GENERIC_RESPONSES).
    Case("login not an address", "POST", "/login", 400, LOGIN_FAILED,
         who="anonymous", form={"email": "not-an-address", "password": "whatever"}),
    Case("login address with NUL", "POST", "/login", 400, LOGIN_FAILED,
         who="anonymous", form={"email": "owner\x00@example.com", "password": "whatever"}),
    Case("login address too long", "POST", "/login", 400, LOGIN_FAILED,
         who="anonymous", form={"email": "a" * 300 + "@example.com", "password": "whatever"}),
    Case("login password with NUL", "POST", "/login", 400, LOGIN_FAILED,
         who="anonymous", form={"email": "nobody@example.com", "password": "\x00" * 20}),
    Case("login password very long", "POST", "/login", 400, LOGIN_FAILED,
         who="anonymous", form={"email": "nobody@example.com", "password": "p" * 100_000}),
    Case("login malformed JSON", "POST", "/login", 400, NOT_JSON, who="anonymous",
         body=b'{"email": ', content_type="application/json"),
    Case("login deeply nested JSON", "POST", "/login", 400, NESTED_JSON, who="anonymous",
         body=DEEP_JSON, content_type="application/json"),
    Case("login deeply nested JSON object", "POST", "/login", 400, NESTED_JSON,
         who="anonymous", body=DEEP_JSON_OBJECT, content_type="application/json"),
    Case("register deeply nested JSON", "POST", "/register", 400, NESTED_JSON,
         who="anonymous", body=DEEP_JSON, content_type="application/json"),
    Case("reset deeply nested JSON", "POST", "/reset", 400, NESTED_JSON, who="anonymous",
         body=DEEP_JSON, content_type="application/json"),
    Case("change password deeply nested JSON", "POST", "/change", 400, NESTED_JSON,
         body=DEEP_JSON_OBJECT, content_type="application/json"),
    Case("login JSON list", "POST", "/login", 400, NOT_AN_OBJECT,
         who="anonymous", json=[1, 2]),
    Case("login JSON numbers", "POST", "/login", 400, LOGIN_FAILED,
         who="anonymous", json={"email": 5, "password": 6}),
    Case("login as plain text", "POST", "/login", 415, FORMS_ONLY, who="anonymous",
         body=b"email=a@example.com", content_type="text/plain"),
    Case("login return address with a line break", "POST", "/login?next=/%0D%0AX:%201", 400,
         CONTROL_IN_ADDRESS, who="anonymous",
         form={"email": "owner@example.com", "password": "a long enough password"}),
    Case("login with PUT", "PUT", "/login", 405, NOT_ALLOWED, who="anonymous", form={},
         allow="POST"),
    Case("logout with GET", "GET", "/logout", 405, NOT_ALLOWED, allow="POST"),
    Case("register not an address", "POST", "/register", 400, "Invalid email address",
         who="anonymous", form=register_form(email="nobody"), field="email"),
    Case("register address with NUL", "POST", "/register", 400, "Invalid email address",
         who="anonymous", form=register_form(email="new\x00@example.com"), field="email"),
    Case("register password short", "POST", "/register", 400, "at least 12 characters",
         who="anonymous", form=register_form(password="short", password_confirm="short"),
         field="password"),
    Case("register name with NUL", "POST", "/register", 400, INVALID_CHARACTERS,
         who="anonymous", form=register_form(full_name="New\x00"), field="full_name"),
    Case("register name too long", "POST", "/register", 400, TOO_LONG_255,
         who="anonymous", form=register_form(full_name="n" * 256), field="full_name"),
    Case("register unknown language", "POST", "/register", 400, NOT_A_CHOICE,
         who="anonymous", form=register_form(locale="tlh"), field="locale"),
    Case("register unknown time zone", "POST", "/register", 400, NOT_A_CHOICE,
         who="anonymous", form=register_form(timezone="Nowhere/Null"), field="timezone"),
    Case("register JSON list", "POST", "/register", 400,
         NOT_AN_OBJECT, who="anonymous", json=["a@example.com"]),
    Case("reset not an address", "POST", "/reset", 400, "Invalid email address",
         who="anonymous", form={"email": "owner at example"}),
    Case("reset address with NUL", "POST", "/reset", 400, "Invalid email address",
         who="anonymous", form={"email": "owner@example.com\x00"}),
    Case("reset address missing", "POST", "/reset", 400, "Email not provided",
         who="anonymous", form={"email": "  "}),
    Case("resend confirmation with NUL", "POST", "/confirm", 400, "Invalid email address",
         who="anonymous", form={"email": "\x00"}),
    Case("change password too short", "POST", "/change", 400, "at least 12 characters",
         form={"password": "a long enough password", "new_password": "short",
               "new_password_confirm": "short"}, field="new_password"),
]

ADMIN = [
    # Ids in Flask-Admin's ?id= argument.
    Case("admin appointment edit id not a number", "GET", "/admin/appointments/edit/?id=abc",
         404, NO_RECORD, who="staff"),
    Case("admin appointment edit id too large", "GET",
         f"/admin/appointments/edit/?id={BIG}", 404, NO_RECORD, who="staff"),
    Case("admin appointment edit id negative", "GET", "/admin/appointments/edit/?id=-1", 404,
         NO_RECORD, who="staff"),
    Case("admin appointment details id with NUL", "GET",
         "/admin/appointments/details/?id=1%00", 400, CONTROL_IN_ADDRESS, who="staff"),
    Case("admin user edit id not a number", "GET", "/admin/users/edit/?id=abc", 404,
         NO_RECORD, who="admin"),
    Case("admin user details id too large", "GET", f"/admin/users/details/?id={BIG}", 404,
         NO_RECORD, who="admin"),
    Case("admin user details id past integer", "GET",
         f"/admin/users/details/?id={JUST_PAST_INT}", 404, NO_RECORD, who="admin"),
    Case("admin role edit id negative", "GET", "/admin/roles/edit/?id=-5", 404, NO_RECORD,
         who="admin"),
    Case("admin audit details id not a number", "GET", "/admin/audit/details/?id=x", 404,
         NO_RECORD, who="staff"),
    Case("admin delete id too large", "POST", "/admin/appointments/delete/", 404, NO_RECORD,
         who="staff", form={"id": BIG}),
    Case("admin delete id not a number", "POST", "/admin/users/delete/", 404, NO_RECORD,
         who="admin", form={"id": "abc"}),
    Case("admin bulk delete ids too large", "POST", "/admin/appointments/action/", 400,
         "Choose the rows from the list.", who="staff",
         form={"action": "delete", "rowid": [BIG, "-1", "x"]}),
    Case("admin bulk action unknown", "POST", "/admin/users/action/", 400,
         "Choose an action from the list.", who="admin",
         form={"action": "explode", "rowid": ["{user}"]}),
    # Appointment forms.
    Case("admin appointment title with NUL", "POST", "/admin/appointments/new/", 400,
         INVALID_CHARACTERS, who="staff", form=admin_appointment_form(title="a\x00"),
         field="title"),
    Case("admin appointment title only spaces", "POST", "/admin/appointments/new/", 400,
         "Enter a title.", who="staff", form=admin_appointment_form(title="  "),
         field="title"),
    Case("admin appointment start 30 February", "POST", "/admin/appointments/new/", 400,
         NOT_A_DATE_TIME, who="staff", form=admin_appointment_form(start="2025-02-30T10:00"),
         field="start"),
    Case("admin appointment year 2201", "POST", "/admin/appointments/new/", 400, YEAR_RANGE,
         who="staff", form=admin_appointment_form(end="2201-01-15T11:30"), field="end"),
    Case("admin appointment owner too large", "POST", "/admin/appointments/new/", 400,
         "Choose the owner from the list.", who="staff",
         form=appointment_form(owner=BIG), field="owner"),
    Case("admin appointment owner with NUL", "POST", "/admin/appointments/new/", 400,
         "Choose the owner from the list.", who="staff",
         form=appointment_form(owner="1\x00"), field="owner"),
    Case("admin return address with a line break", "POST", "/admin/appointments/new/", 400,
         CONTROL_IN_ADDRESS, who="staff", form=admin_appointment_form(url="/\r\nX: 1")),
    Case("admin return address in the URL with a line break", "POST",
         "/admin/appointments/new/?url=/%0D%0AX:%201", 400, CONTROL_IN_ADDRESS, who="staff",
         form=admin_appointment_form()),
    Case("admin appointment edit end before start", "POST",
         "/admin/appointments/edit/?id={appointment}", 400,
         "The end must not be before the start.", who="staff",
         form=admin_appointment_form(end="2026-01-15T09:00", version="{version}"), field="end"),
    # User and role forms.
    Case("admin user address invalid", "POST", "/admin/users/new/", 400,
         "Invalid email address", who="admin", form=user_form(email="no-at-sign"),
         field="email"),
    Case("admin user address with NUL", "POST", "/admin/users/new/", 400,
         "Invalid email address", who="admin", form=user_form(email="new\x00@example.com"),
         field="email"),
    Case("admin user name with NUL", "POST", "/admin/users/new/", 400, INVALID_CHARACTERS,
         who="admin", form=user_form(full_name="\x00"), field="full_name"),
    Case("admin user unknown time zone", "POST", "/admin/users/new/", 400, NOT_A_CHOICE,
         who="admin", form=user_form(timezone="Atlantis/Capital"), field="timezone"),
    Case("admin user role id too large", "POST", "/admin/users/new/", 400, "Not a valid choice",
         who="admin", form=user_form(roles=BIG), field="roles"),
    Case("admin user edit name too long", "POST", "/admin/users/edit/?id={user}", 400,
         TOO_LONG_255, who="admin",
         form=user_form(email="owner@example.com", full_name="n" * 256), field="full_name"),
    Case("admin role name with NUL", "POST", "/admin/roles/new/", 400, INVALID_CHARACTERS,
         who="admin", form={"name": "bad\x00role"}, field="name"),
    # List arguments: filters, search, paging.
    Case("admin filter 30 February", "GET",
         "/admin/appointments/?flt0_{start_filter}=2025-02-30+to+2025-03-01", 400,
         "Invalid Filter Value", who="staff"),
    Case("admin filter year 99999", "GET",
         "/admin/appointments/?flt0_{start_filter}=99999-01-01+to+99999-01-02", 400,
         "Invalid Filter Value", who="staff"),
    Case("admin filter year 1800", "GET",
         "/admin/appointments/?flt0_{start_filter}=1800-01-01+to+1800-01-02", 400,
         "Invalid Filter Value", who="staff"),
    Case("admin filter not a date", "GET", "/admin/appointments/?flt0_{start_filter}=soon",
         400, "Invalid Filter Value", who="staff"),
    Case("admin filter all day not boolean", "GET",
         "/admin/appointments/?flt0_{all_day_filter}=maybe", 400, "Invalid Filter Value",
         who="staff"),
    Case("admin filter owner address with NUL", "GET",
         "/admin/appointments/?flt0_{owner_filter}=a%00b", 400, CONTROL_IN_ADDRESS,
         who="staff"),
    Case("admin filter month 13", "GET",
         "/admin/appointments/?flt0_{start_filter}=2025-13-01+to+2025-13-02", 400,
         INVALID_FILTER, who="staff"),
    Case("admin filter year 9999", "GET",
         "/admin/appointments/?flt0_{start_filter}=9999-12-31+to+9999-12-31", 400,
         INVALID_FILTER, who="staff"),
    Case("admin audit filter month 13", "GET",
         "/admin/audit/?flt0_created=2025-13-01+to+2025-13-02", 400, INVALID_FILTER,
         who="staff"),
    Case("admin audit filter year 1800", "GET",
         "/admin/audit/?flt0_created=1800-01-01+to+1800-01-02", 400, INVALID_FILTER,
         who="staff"),
    Case("admin audit filter year 9999", "GET",  # the day after: an overflow
         "/admin/audit/?flt0_created=9999-12-31+to+9999-12-31", 400, INVALID_FILTER,
         who="staff"),
    Case("admin audit filter year 1", "GET",
         "/admin/audit/?flt0_created=0001-01-01+to+0001-01-01", 400, INVALID_FILTER,
         who="staff"),
    Case("admin audit filter garbage", "GET", "/admin/audit/?flt0_created=garbage", 400,
         "Invalid Filter Value: garbage", who="staff"),
    Case("admin audit filter action not offered", "GET", "/admin/audit/?flt0_action=garbage",
         400, "Invalid Filter Value: garbage", who="staff"),
    Case("admin audit filter object type not offered", "GET",
         "/admin/audit/?flt0_object_type=garbage", 400, "Invalid Filter Value: garbage",
         who="staff"),
    Case("admin user filter role not offered", "GET", "/admin/users/?flt0_{role_filter}=garbage",
         400, "Invalid Filter Value: garbage", who="admin"),
    Case("admin audit filter 30 February", "GET",
         "/admin/audit/?flt0_created=2025-02-30+to+2025-02-30", 400, "Invalid Filter Value",
         who="staff"),
    Case("admin audit filter who with NUL", "GET", "/admin/audit/?flt0_actor_email=%00", 400,
         CONTROL_IN_ADDRESS, who="staff"),
    Case("admin search with NUL", "GET", "/admin/appointments/?search=den%00tist", 400,
         CONTROL_IN_ADDRESS, who="staff"),
    Case("admin user search with NUL", "GET", "/admin/users/?search=%00", 400,
         CONTROL_IN_ADDRESS, who="admin"),
    # A page number: counted from 0, up to where the database's OFFSET goes (no nearest page).
    Case("admin user list page huge", "GET", f"/admin/users/?page={BIG}", 400, NO_SUCH_PAGE,
         who="admin"),
    Case("admin user list page past the offsets", "GET", "/admin/users/?page=99999999999999999",
         400, NO_SUCH_PAGE, who="admin"),
    Case("admin user list page negative", "GET", "/admin/users/?page=-3", 400, NO_SUCH_PAGE,
         who="admin"),
    Case("admin audit list page huge", "GET", "/admin/audit/?page=99999999999999999", 400,
         NO_SUCH_PAGE, who="staff"),
    Case("admin audit list page negative", "GET", "/admin/audit/?page=-3", 400, NO_SUCH_PAGE,
         who="staff"),
    Case("admin role list page huge", "GET", "/admin/roles/?page=99999999999999999", 400,
         NO_SUCH_PAGE, who="admin"),
    Case("admin role list page negative", "GET", "/admin/roles/?page=-3", 400, NO_SUCH_PAGE,
         who="admin"),
    Case("admin role list page not a number", "GET", "/admin/roles/?page=two", 400,
         NO_SUCH_PAGE, who="admin"),
    Case("admin appointment list page negative", "GET", "/admin/appointments/?page=-3", 400,
         NO_SUCH_PAGE, who="staff"),
    Case("admin appointment list page huge", "GET",
         "/admin/appointments/?page=99999999999999999", 400, NO_SUCH_PAGE, who="staff"),
    Case("admin appointment list page past the offsets with the largest page size", "GET",
         "/admin/appointments/?page=21474837&page_size=100", 400, NO_SUCH_PAGE, who="staff"),
    Case("admin export page negative", "GET", "/admin/appointments/export/csv/?page=-3", 400,
         NO_SUCH_PAGE, who="staff"),
    Case("admin create deeply nested JSON", "POST", "/admin/appointments/new/", 415, FORMS_ONLY,
         who="staff", body=DEEP_JSON, content_type="application/json"),
    Case("admin owner lookup with NUL", "GET",
         "/admin/appointments/ajax/lookup/?name=owner&query=%00", 400, CONTROL_IN_ADDRESS,
         who="staff"),
    Case("admin lookup unknown", "GET", "/admin/appointments/ajax/lookup/?name=nope&query=a",
         404, NOT_FOUND, who="staff"),
    Case("admin export unknown type", "GET", "/admin/appointments/export/xlsx/", 404,
         NOT_FOUND, who="staff"),
    Case("admin create with PUT", "PUT", "/admin/appointments/new/", 405, NOT_ALLOWED,
         who="staff", form={}, allow="POST"),
    Case("admin delete with GET", "GET", "/admin/appointments/delete/?id=1", 405,
         NOT_ALLOWED, who="staff", allow="POST"),
]

TRANSLATIONS = [
    Case("console unknown language", "GET", "/admin/translations/xx/", 404, NOT_FOUND,
         who="translator"),
    Case("console language with NUL", "GET", "/admin/translations/fr%00/", 400, CONTROL_IN_ADDRESS,
         who="translator"),
    Case("console language a path", "GET", "/admin/translations/..%2F..%2Fetc/", 404,
         NOT_FOUND, who="translator"),
    Case("console unknown entry", "GET", "/admin/translations/fr/0000000000000000/", 404,
         NOT_FOUND, who="translator"),
    Case("console save with NUL", "POST", "/admin/translations/fr/{key}/", 400,
         INVALID_CHARACTERS, who="translator",
         form={"translation-0": "sched : des rendez-vous\x00", "previous": "{previous}"}),
    Case("console save wrong placeholder", "POST",
         "/admin/translations/fr/{placeholder_key}/", 400, "%(title)s", who="translator",
         form={"translation-0": "Rendez-vous « %(titre)s » créé.",
               "previous": "{placeholder_previous}"}),
    Case("console save as JSON", "POST", "/admin/translations/fr/{key}/", 415,
         FORMS_ONLY, who="translator", json={"translation-0": "x"}),
    Case("console revert id too large", "POST", f"/admin/translations/fr/{{key}}/revert/{BIG}",
         404, NOT_FOUND, who="translator", form={}),
    Case("console revert id past integer", "POST",
         f"/admin/translations/fr/{{key}}/revert/{JUST_PAST_INT}", 404, NOT_FOUND,
         who="translator", form={}),
    Case("console revert id not a number", "POST", "/admin/translations/fr/{key}/revert/x",
         404, NOT_FOUND, who="translator", form={}),
    Case("console revert with GET", "GET", "/admin/translations/fr/{key}/revert/{edit}", 405,
         NOT_ALLOWED, who="translator", allow="POST"),
    Case("console upload not a catalog", "POST", "/admin/translations/fr/upload", 400,
         "The file is not a valid .po catalog", who="translator", form={},
         files={"po_file": (b"\x00\x01\x02 not a catalog", "fr.po")}),
    Case("console upload without file", "POST", "/admin/translations/fr/upload", 400,
         "Choose a .po file.", who="translator", form={}),
    Case("console upload over the file limit", "POST", "/admin/translations/fr/upload", 400,
         "The file is larger than 512 KiB.", who="translator", form={},
         files={"po_file": (b"#" * (600 * 1024), "fr.po")}),
    Case("console upload file name with NUL", "POST", "/admin/translations/fr/upload", 400,
         FILE_NAME_CONTROL, who="translator", form={},
         files={"po_file": (FOOTER_CATALOG, "fr\x00.po")}),
    Case("console upload over 1 MiB", "POST", "/admin/translations/fr/upload", 413,
         TOO_LARGE, who="translator", form={}, files={"po_file": (b"#" * (MIB + 1), "fr.po")}),
    Case("console download unknown language", "GET", "/admin/translations/zz/download", 404,
         NOT_FOUND, who="translator"),
]

GENERAL = [
    Case("home with POST", "POST", "/", 405, NOT_ALLOWED, who="anonymous", form={},
         csrf=False, allow="GET"),
    Case("health with DELETE", "DELETE", "/healthz", 405, NOT_ALLOWED, who="anonymous",
         csrf=False, allow="GET"),
    Case("unknown page", "GET", "/no-such-page", 404, NOT_FOUND, who="anonymous"),
    Case("path with NUL", "GET", "/appointments%00/", 404, NOT_FOUND),
    # What uWSGI hands over whole (uwsgi.ini's buffer-size; tests/core/test_serving.py sends
    # these to it): longer than nginx takes in front.
    Case("query string of 40 000 bytes", "GET", "/login?q=" + "a" * 40_000, 414,
         ADDRESS_TOO_LONG, who="anonymous"),
    Case("path of 9 000 bytes", "GET", "/calendar/feed/" + "t" * 9000, 414, ADDRESS_TOO_LONG,
         who="anonymous"),
    Case("header of 40 000 bytes", "GET", "/login", 431, HEADERS_TOO_LARGE, who="anonymous",
         headers={"X-Padding": "a" * 40_000}),
    Case("form to an address of 40 000 bytes", "POST", "/appointments/create/?q=" + "a" * 40_000,
         414, ADDRESS_TOO_LONG, form=appointment_form()),
]

CASES = APPOINTMENTS + CALENDAR + ICALENDAR + ACCOUNTS + ADMIN + TRANSLATIONS + GENERAL

# List arguments past the database's range that mean "nothing more": the list is empty or cut
# to what there is, as for any number past the end; they never reach the database as they are.
HARMLESS = [
    ("staff", f"/admin/appointments/ajax/lookup/?name=owner&query=o&offset={BIG}"),
    ("staff", "/admin/appointments/ajax/lookup/?name=owner&query=o&offset=-5"),
    ("staff", f"/admin/appointments/?page_size={BIG}"),
    ("staff", f"/admin/appointments/?sort={BIG}&desc=x"),
    ("staff", "/admin/appointments/?page=400"),  # past its fixed depth: its last page
    ("admin", f"/admin/users/?sort={BIG}"),
    ("translator", f"/admin/translations/fr/?page={BIG}"),
]


def test_case_names_are_unique():
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))


# ----------------------------------------------------------------------------------------------
# The test and its helpers
# ----------------------------------------------------------------------------------------------


class Site:
    """One app and database shared by every case (each must leave them as they were), its
    visitors logged in once each, and the test data a case may name, made on first use."""

    def __init__(self, app, translations: Path):
        self.app = app
        self.translations = translations
        self.owner = make_user(WHO["user"], full_name="Olive Owner", timezone="Europe/Berlin")
        self.appointment = make_appointment(self.owner, title="Dentist")
        self._values: dict[str, str] = {}
        self._browsers: dict[str, Browser] = {}
        self._tokens: dict[str, str] = {}

    def browser(self, who: str) -> Browser:
        if who not in self._browsers:
            browser = Browser(self.app.test_client())
            if who != "anonymous":
                if who != "user":
                    make_user(WHO[who], roles=(who,), timezone="America/New_York")
                browser.login(WHO[who])
            self._browsers[who] = browser
        return self._browsers[who]

    def token(self, who: str) -> str:
        """The CSRF token of the visitor's session, as its pages carry it."""
        if who not in self._tokens:
            page = TOKEN_PAGE.get(who, TOKEN_PAGE["default"])
            self._tokens[who] = self.browser(who).token(page)
        return self._tokens[who]

    def fill(self, text: str) -> str:
        for name in re.findall(r"\{(\w+)\}", text):
            text = text.replace(f"{{{name}}}", self.value(name))
        return text

    def value(self, name: str) -> str:
        if name not in self._values:
            self._values[name] = str(getattr(self, f"_{name}")())
        return self._values[name]

    def _appointment(self):
        return self.appointment.id

    def _version(self):
        return self.appointment.version

    def _user(self):
        return self.owner.id

    def _token(self):
        return make_feed_token(self.owner)

    def _message(self, msgid: str):
        return catalogs.read_catalog(catalogs.po_path("fr", self.translations), "fr").get(msgid)

    def _key(self):
        return catalogs.message_key(self._message(FOOTER))

    def _previous(self):
        return fingerprint(self._message(FOOTER))

    def _placeholder_key(self):
        return catalogs.message_key(self._message(PLACEHOLDER_MSGID))

    def _placeholder_previous(self):
        return fingerprint(self._message(PLACEHOLDER_MSGID))

    def _edit(self):
        edit = TranslationEdit(
            language="fr", key=self.value("key"), msgid=FOOTER, old=["a"], new=["b"],
            actor_email=WHO["translator"],
        )
        db.session.add(edit)
        db.session.commit()
        return edit.id

    def _filter_arg(self, label: str, endpoint: str = "appointments_admin") -> str:
        """The key Flask-Admin's list (of appointments) gives a filter in its URLs."""
        views = self.app.extensions["admin"][0]._views
        appointments = next(view for view in views if view.endpoint == endpoint)
        return next(
            key for key, (_index, flt) in appointments._filter_args.items()
            if str(flt.name) == label
        )

    def _start_filter(self):
        return self._filter_arg("Start date")

    def _all_day_filter(self):
        return self._filter_arg("All day")

    def _owner_filter(self):
        return self._filter_arg("Owner e-mail")

    def _role_filter(self):
        return self._filter_arg("Role", endpoint="users")


@pytest.fixture(scope="module")
def site(module_database_url, tmp_path_factory):
    translations = tmp_path_factory.mktemp("bad-input") / "translations"
    shutil.copytree(PROJECT_DIR / "translations", translations)
    app = create_app("testing", {
        "SQLALCHEMY_DATABASE_URI": module_database_url,
        "BABEL_TRANSLATION_DIRECTORIES": str(translations),
        # Every case is one request from one address: the limits would soon answer 429.
        # They have tests of their own (tests/accounts).
        "RATELIMIT_ENABLED": False,
    })
    app.test_client_class = RequestIsolatingClient
    app.extensions["mailman"].outbox = []
    with app.app_context():
        yield Site(app, translations)
        db.session.remove()
        db.engine.dispose()


def send(site: Site, case: Case):
    """Send the case's request as its visitor, with a CSRF token where a browser has one."""
    browser = site.browser(case.who)
    headers = dict(case.headers)
    kwargs: dict[str, Any] = {}
    token = None
    if case.csrf and case.method != "GET":
        token = site.token(case.who)
        headers["X-CSRFToken"] = token
    if case.form is not None:
        data = {key: fill_value(site, value) for key, value in case.form.items()}
        if token:
            data["csrf_token"] = token
        if case.files:
            # Encoded here, in memory: the test client would spool a large body to a temporary
            # file that nothing closes when the app refuses the body unread.
            for name, (content, filename) in case.files.items():
                data[name] = FileStorage(io.BytesIO(content), filename=filename)
            boundary, body = encode_multipart(data)
            kwargs["data"] = body
            kwargs["content_type"] = f"multipart/form-data; boundary={boundary}"
        else:
            kwargs["data"] = data
    elif case.json is not None:
        kwargs["json"] = case.json
    elif case.body is not None:
        kwargs["data"] = case.body
        kwargs["content_type"] = case.content_type
    if case.method == "DELETE" or case.json is not None:
        headers["Accept"] = "application/json"
    return browser.client.open(site.fill(case.path), method=case.method, headers=headers, **kwargs)


def fill_value(site: Site, value):
    if isinstance(value, list):
        return [fill_value(site, item) for item in value]
    return site.fill(value) if isinstance(value, str) else value


def errors_next_to(html: str, field_name: str) -> str:
    """The error messages a form shows with one field, in our and Flask-Security's markup
    (an ``…-errors`` block under the field) or Flask-Admin's (the field's form group)."""
    own = re.search(rf'id="{re.escape(field_name)}-errors">(.*?)</div>\s*</div>', html, re.S)
    if own:
        return own.group(1)
    at = html.find(f'id="{field_name}"')
    assert at >= 0, f"no field {field_name} on the page"
    start = html.rfind('<div class="form-group', 0, at)
    end = html.find('<div class="form-group', at)
    group = html[start:end if end >= 0 else None]
    assert "is-invalid" in group and "invalid-feedback" in group, f"{field_name} not marked"
    return group


def shown_text(response) -> str:
    if response.is_json:
        return json.dumps(response.get_json(), ensure_ascii=False)
    return html_lib.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("case", CASES, ids=str)
def test_bad_input_is_refused_clearly_and_changes_nothing(site, case):
    site.browser(case.who)
    for name in re.findall(r"\{(\w+)\}", case.path + json.dumps(case.form or {})):
        site.value(name)  # test data is made before the snapshot
    before = snapshot(files=site.translations)

    response = send(site, case)

    text = shown_text(response)
    assert response.status_code == case.status, f"{response.status_code}: {text[-3000:]}"
    if case.field:
        errors = html_lib.unescape(errors_next_to(response.get_data(as_text=True), case.field))
        assert case.message in errors
    else:
        assert case.message in text
    if case.allow:
        assert case.allow in response.headers["Allow"]
    assert snapshot(files=site.translations) == before


@pytest.mark.parametrize(("who", "path"), HARMLESS)
def test_numbers_past_the_databases_range_in_list_arguments_are_harmless(site, who, path):
    before = snapshot()
    assert site.browser(who).get(path).status_code == 200
    assert snapshot() == before
