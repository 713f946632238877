"""The admin panel's appointment pages: every user's appointments, for staff.

Built for a big table: the owner is looked up a page of users at a time, the list runs no
COUNT(*) and no query per row, paging stops at a fixed depth, and the date drill-down above
the list costs two small queries that an index on the start column answers.

Series and their changed occurrences (app/scheduling/series.py) are rows of the same table: the
list says how each repeats and filters by it, a series is edited as a whole (its changed and
deleted occurrences follow it), and deleting a changed occurrence deletes that occurrence.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from babel.dates import format_date, format_interval, format_skeleton
from flask import abort, flash, get_template_attribute, redirect
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.contrib.sqla.filters import BooleanEqualFilter, DateBetweenFilter, FilterEqual
from flask_admin.contrib.sqla.tools import parse_like_term
from flask_admin.helpers import get_redirect_target
from flask_admin.model.fields import AjaxSelectField
from flask_babel import format_decimal, get_locale, gettext, ngettext, to_user_timezone
from sqlalchemy import Integer, and_, column, func, inspect, or_, select, values
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError
from wtforms.validators import InputRequired, StopValidation

from app.accounts.models import APPOINTMENTS_MANAGE, User
from app.admin.base import SchedModelView, differs_on_clocks, on_clock, zone_label
from app.audit import recording as audit
from app.core.db import MAX_INT, UTCDateTime, parse_id
from app.core.filters import date_filter, datetime_filter, nl2br_filter
from app.core.gettext import lazy_gettext as _l
from app.core.timezones import local_days_in_utc, local_midnight, user_timezone, zone_named
from app.extensions import db
from app.scheduling import series as series_changes
from app.scheduling.forms import (
    DELETED_MEANWHILE,
    EDIT_CONFLICT,
    WEEKDAYS,
    AppointmentForm,
    EditsVersion,
)
from app.scheduling.models import Appointment
from app.scheduling.recurrence import FREQUENCIES, PARTS
from app.scheduling.summary import describe

# Flask-Admin's select2 widget asks for ten users at a time and expects no more.
OWNER_PAGE_SIZE = 10
EXPORT_MAX_ROWS = 10_000
# Paging stops this many rows deep: OFFSET costs as much as the rows it skips.
MAX_LIST_OFFSET = 10_000
# A search word matching more owners than this is looked up in a subquery instead of by id.
MAX_SEARCHED_OWNERS = 1_000
LABELS = {
    "id": _l("ID"),
    "owner": _l("Owner"),
    "owner.email": _l("Owner e-mail"),
    "title": _l("Title"),
    "start": _l("Start"),
    "end": _l("End"),
    "all_day": _l("All day"),
    "location": _l("Location"),
    "description": _l("Description"),
    "created": _l("Created"),
    "modified": _l("Modified"),
    "repeats": _l("Repeats"),
    "rrule": _l("Repeat rule"),
}
CHOOSE_OWNER = _l("Choose the owner from the list.")
KEEPS_SERIES_OWNER = _l(
    "A changed occurrence belongs to the owner of its series: change the series' owner instead."
)
DELETE_CONFLICT = _l(
    "This appointment was changed meanwhile, so it was not deleted. Reload the page to see the "
    "changes, then delete it again if you still want to."
)
OWNER_PLACEHOLDER = _l("Type part of an e-mail address or name")
SINGLE, SERIES, EXCEPTION = "single", "series", "exception"
REPEATS_CHOICES = [
    (SINGLE, _l("Single appointment")),
    (SERIES, _l("Series")),
    (EXCEPTION, _l("Changed occurrence")),
]
# The words a series' RRULE text is made of, as recurrence.parse_rule keeps it (upper-case):
# its parts' names and values, weekdays (with a number in front: 1MO, -1FR) and an UNTIL's T and
# Z between digits; the rest is digits and =;,+-.
RULE_WORDS = (*PARTS, *FREQUENCIES, *WEEKDAYS, "T", "Z")
RULE_TEXT = re.compile(r"[A-Z0-9=;,+-]+")
LETTERS = re.compile(r"[A-Z]+")


# --- The owner: an AJAX lookup, never a drop-down of every user ----------------------------


class OwnerLoader(QueryAjaxModelLoader):
    """Users whose e-mail address or name contains what was typed, a page at a time."""

    def __init__(self) -> None:
        super().__init__(
            "owner",
            db,
            User,
            fields=["email", "full_name"],
            page_size=OWNER_PAGE_SIZE,
            placeholder=OWNER_PLACEHOLDER,
            minimum_input_length=1,
        )

    def format(self, user: User | None) -> tuple[int, str] | None:
        if user is None:
            return None
        return user.id, f"{user.full_name} <{user.email}>" if user.full_name else user.email

    def get_one(self, pk) -> User | None:
        user_id = parse_id(pk)
        return None if user_id is None else super().get_one(user_id)

    def get_list(self, term: str | None, offset: int | None = 0, limit: int | None = None):
        # A page is always OWNER_PAGE_SIZE users, whatever ``limit`` the request asks for.
        term = (term or "").strip()
        matches = User.email.icontains(term, autoescape=True) | User.full_name.icontains(
            term, autoescape=True
        )
        return (
            self.get_query()
            .filter(matches)
            .order_by(User.email)
            .offset(min(max(offset or 0, 0), MAX_INT))  # past any row: none, not an overflow
            .limit(OWNER_PAGE_SIZE)
            .all()
        )


owner_loader = OwnerLoader()


class OwnerField(AjaxSelectField):
    """The appointment's owner, chosen by the browser from the users the lookup finds."""

    def pre_validate(self, form) -> None:
        if self.data is None:  # nothing chosen, or a user who no longer exists
            raise StopValidation(CHOOSE_OWNER)


class AppointmentAdminForm(AppointmentForm):
    """The public appointment form and its rules, plus the owner; overlaps are not questioned.

    Times are on the staff member's clock. An all-day appointment is a run of days on its
    owner's calendar, so its dates are shown and kept as the owner's days: otherwise saving
    one from another time zone would move it by a day.
    """

    owner = OwnerField(owner_loader, _l("Owner"), [InputRequired(message=CHOOSE_OWNER)])
    confirm_overlap = None  # type: ignore[assignment]  # WTForms: None removes the field

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        appointment = kwargs.get("obj")
        if appointment is not None and appointment.all_day:
            # The owner's zone, in which an all-day appointment's days are counted.
            self.start.tz = self.end.tz = zone_named(appointment.owner.timezone)
        self.describe_times(appointment)
        # An exception's owner is its series': set with the series' (AppointmentAdmin).
        self.series_owner_id = None
        if appointment is not None and appointment.series_id is not None:
            self.without_repeat()  # an exception: one occurrence of its series
            self.series_owner_id = appointment.owner_id
        elif appointment is not None and appointment.is_series:
            self.show_series(appointment, submitted=self.is_submitted())

    def describe_times(self, appointment: Appointment | None) -> None:
        """Say under the start and the end on whose clock they are, and what the owner's
        clock shows when it shows another time."""
        viewer = user_timezone()
        for field_ in (self.start, self.end):
            if appointment is None:
                field_.description = gettext(
                    "In your time zone: %(zone)s.", zone=zone_label(viewer)
                )
                continue
            owner_zone = zone_named(appointment.owner.timezone)
            if appointment.all_day:
                field_.description = gettext(
                    "The owner's days, in their time zone: %(zone)s.", zone=zone_label(owner_zone)
                )
                continue
            text = gettext("In your time zone: %(zone)s.", zone=zone_label(viewer))
            moment = getattr(appointment, field_.name)
            if differs_on_clocks(moment, owner_zone, viewer):
                text += " " + gettext(
                    "On the owner's clock (%(zone)s): %(time)s.",
                    zone=zone_label(owner_zone),
                    time=on_clock(moment, owner_zone, "short"),
                )
            field_.description = text

    def validate(self, extra_validators=None) -> bool:
        owner = self.owner.data
        if self.series_zone is None and owner is not None:
            self.series_zone = zone_named(owner.timezone)  # a new series repeats on its clock
        if not super().validate(extra_validators):
            return False
        if self.series_owner_id is not None and self.owner.data.id != self.series_owner_id:
            self.owner.errors.append(KEEPS_SERIES_OWNER)
            return False
        if self.all_day.data:
            zone = zone_named(self.owner.data.timezone)  # chosen: validation ensured it
            self.start.data = local_midnight(self.start.data.date(), zone)
            self.end.data = local_midnight(self.end.data.date(), zone)
        return True

    def __iter__(self):
        # Shown first, though WTForms orders fields as they were declared.
        yield self.owner
        yield from (field for field in super().__iter__() if field is not self.owner)


class AppointmentAdminEditForm(EditsVersion, AppointmentAdminForm):
    """The admin form for an existing appointment."""

    # Set when the edit was refused because the appointment changed since the form was filled.
    refused_as_stale = False


# --- Filters -------------------------------------------------------------------------------


class OwnerEmailFilter(FilterEqual):
    """The owner's exact e-mail address, typed in: one index look-up, no list of users."""

    def clean(self, value: str) -> str:
        return value.strip()


class StartDaysFilter(DateBetweenFilter):
    """Appointments starting from one day to another, both included, on the viewer's clock.

    Days outside the calendar's years are refused for every list (SchedModelView)."""

    def apply(self, query, value, alias=None):
        first, last = value
        start, end = local_days_in_utc(first, last, user_timezone())
        column = self.get_column(alias)
        return query.filter(column >= start, column < end)

    def url_value(self, first: date, last: date) -> str:
        """Return the filter's URL value for these days, as its date range picker writes it."""
        return f"{first.isoformat()} to {last.isoformat()}"


class RepeatsFilter(FilterEqual):
    """Single appointments, series, or changed occurrences of a series.

    Sorted by the start, as the list is, the database walks the start index until it has a
    page of them: quick while they are not rare. The rule has no index of its own to find rare
    series by; changed occurrences have one (uq_appointment_series_id_recurrence_id).
    """

    def apply(self, query, value, alias=None):
        if value == SERIES:
            return query.filter(Appointment.rrule.is_not(None))
        if value == EXCEPTION:
            return query.filter(Appointment.series_id.is_not(None))
        return query.filter(and_(Appointment.rrule.is_(None), Appointment.series_id.is_(None)))


def could_be_in_a_rule(term: str) -> bool:
    """Tell whether a search word could be part of a series' RRULE text (``weekly``,
    ``BYDAY=MO``, ``COUNT=10``): only the rule's words, digits and punctuation, each run of
    letters part of one of its words. Others (``dentist``, an e-mail address) are not looked
    for in the rules, which no trigram index answers (AppointmentAdmin._apply_search).
    """
    text = term.removeprefix("^").upper()
    if not RULE_TEXT.fullmatch(text):
        return False
    return all(any(run in word for word in RULE_WORDS) for run in LETTERS.findall(text))


# --- Columns as people read them -----------------------------------------------------------


def _owner_email(view, context, model, name) -> str:
    return model.owner.email


def _owners_day(model, name) -> date:
    return getattr(model, name).astimezone(zone_named(model.owner.timezone)).date()


def _owners_clock(model, moment: datetime | None, format: str) -> dict:
    """The owner's time of ``moment`` and their zone, when their clock shows it otherwise than
    the viewer's; else nothing."""
    owner_zone = zone_named(model.owner.timezone)
    if moment is None or not differs_on_clocks(moment, owner_zone, user_timezone()):
        return {}
    return {
        "owner_time": on_clock(moment, owner_zone, format),
        "owner_zone": zone_label(owner_zone),
    }


def _when(view, context, model, name):
    """A time on the viewer's clock (the column's header names it), and on the owner's if it
    shows another time; an all-day appointment's days, the owner's."""
    if model.all_day:
        return date_filter(_owners_day(model, name))
    moment = getattr(model, name)
    when = get_template_attribute("admin/appointments/_when.html", "when")
    return when(datetime_filter(moment, "short"), **_owners_clock(model, moment, "short"))


def _when_in_full(view, context, model, name):
    """As in the list, in full and with the zone's name; created and modified times, the
    viewer's alone."""
    if model.all_day and name in ("start", "end"):
        return date_filter(_owners_day(model, name), "full")
    moment = getattr(model, name)
    if name not in ("start", "end"):
        return datetime_filter(moment, "full")
    when = get_template_attribute("admin/appointments/_when.html", "when")
    return when(datetime_filter(moment, "full"), **_owners_clock(model, moment, "full"))


def _yes_no(view, context, model, name) -> str:
    return gettext("Yes") if getattr(model, name) else gettext("No")


def _text_with_line_breaks(view, context, model, name):
    return nl2br_filter(getattr(model, name))


def _repeat_summary(model) -> str:
    recurrence = model.recurrence
    return describe(recurrence.rule, recurrence.start, recurrence.all_day)


def _repeats(view, context, model, name):
    """How it repeats: a series' rule in words; a changed occurrence, a link to its series."""
    repeats = get_template_attribute("admin/appointments/_repeats.html", "repeats")
    if model.is_series:
        return repeats(summary=_repeat_summary(model))
    if model.series_id is not None:
        return repeats(series_id=model.series_id, series_url=_series_url(view, model))
    return ""


def _repeats_in_full(view, context, model, name):
    """As in the list, with a series' RRULE text and the original start of a changed one."""
    repeats = get_template_attribute("admin/appointments/_repeats.html", "repeats")
    if model.is_series:
        return repeats(summary=_repeat_summary(model), rule=model.rrule)
    if model.series_id is not None:
        return repeats(
            series_id=model.series_id,
            series_url=_series_url(view, model),
            original_start=datetime_filter(model.recurrence_id, "full"),
        )
    return ""


def _series_url(view, model) -> str:
    return view.get_url(".details_view", id=model.series_id)


def _export_repeats(view, context, model, name) -> str:
    if model.is_series:
        return _repeat_summary(model)
    if model.series_id is not None:
        return gettext("Changed occurrence of series %(series)s", series=model.series_id)
    return ""


def _export_text(view, context, model, name) -> str:
    return getattr(model, name) or ""


def _export_owner(view, context, model, name) -> str:
    return model.owner.email


def _export_moment(view, context, model, name) -> str:
    """ISO 8601 on the viewer's clock, offset included; an all-day one's owner's dates."""
    if model.all_day and name in ("start", "end"):
        return _owners_day(model, name).isoformat()
    return to_user_timezone(getattr(model, name)).isoformat(timespec="seconds")


# --- The date drill-down -------------------------------------------------------------------


@dataclass(frozen=True)
class DateLink:
    label: str
    url: str


@dataclass
class DateDrilldown:
    """Links above the list: back up to broader dates, and down to the narrower ones in use."""

    current: str
    up: list[DateLink] = field(default_factory=list)
    down: list[DateLink] = field(default_factory=list)


# How deep a chosen range is: 1 a year, 2 a month, 3 a day; None for any other range.
def _range_depth(first: date, last: date) -> int | None:
    if first == last:
        return 3
    if (first, last) == _period(first, 2):
        return 2
    if (first, last) == _period(first, 1):
        return 1
    return None


def _period(day: date, depth: int) -> tuple[date, date]:
    """Return the first and last day of the year, month or day (depth 1, 2, 3) around ``day``."""
    if depth == 1:
        return date(day.year, 1, 1), date(day.year, 12, 31)
    if depth == 2:
        return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])
    return day, day


def _periods_from_to(first: date, last: date, depth: int) -> list[date]:
    """Return the first days of the years, months or days (depth 1, 2, 3) from first to last."""
    if depth == 1:
        return [date(year, 1, 1) for year in range(first.year, last.year + 1)]
    if depth == 2:
        months = range(first.year * 12 + first.month - 1, last.year * 12 + last.month)
        return [date(month // 12, month % 12 + 1, 1) for month in months]
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# --- The view ------------------------------------------------------------------------------


class AppointmentAdmin(SchedModelView):
    """Every user's appointments: list, search, filter, drill down by date, edit, export."""

    read_permission = APPOINTMENTS_MANAGE
    write_permission = APPOINTMENTS_MANAGE
    history_kind = "Appointment"

    zoned_columns = ("start", "end")

    list_template = "admin/appointments/list.html"
    can_view_details = True
    can_export = True
    export_max_rows = EXPORT_MAX_ROWS
    simple_list_pager = True  # no COUNT(*) over the whole table on every page

    # New columns and filters go last: the URLs name sorts and filters by their position.
    column_list = ("owner", "title", "start", "end", "all_day", "location", "repeats")
    column_details_list = (
        "owner",
        "title",
        "start",
        "end",
        "all_day",
        "repeats",
        "location",
        "description",
        "created",
        "modified",
    )
    column_export_list = ("id", *column_details_list)
    column_labels = LABELS
    column_sortable_list = (
        ("owner", "owner.email"),
        "title",
        "start",
        "end",
        "all_day",
        "location",
    )
    column_default_sort = ("start", True)
    column_searchable_list = ("title", "location", "description", "owner.email", "rrule")
    # Joined into the list's query, so showing the owner costs no query per row.
    column_select_related_list = (Appointment.owner,)

    start_days_filter = StartDaysFilter(Appointment.start, _l("Start date"))
    column_filters = (
        OwnerEmailFilter("owner.email", _l("Owner e-mail")),
        start_days_filter,
        BooleanEqualFilter(Appointment.all_day, _l("All day")),
        RepeatsFilter(Appointment.rrule, _l("Repeats"), options=REPEATS_CHOICES),
    )

    column_formatters = {
        "owner": _owner_email,
        "start": _when,
        "end": _when,
        "all_day": _yes_no,
        "repeats": _repeats,
    }
    column_formatters_detail = {
        **column_formatters,
        "repeats": _repeats_in_full,
        "start": _when_in_full,
        "end": _when_in_full,
        "description": _text_with_line_breaks,
        "created": _when_in_full,
        "modified": _when_in_full,
    }
    column_formatters_export = {
        "owner": _export_owner,
        "title": _export_text,
        "start": _export_moment,
        "end": _export_moment,
        "all_day": _yes_no,
        "repeats": _export_repeats,
        "location": _export_text,
        "description": _export_text,
        "created": _export_moment,
        "modified": _export_moment,
    }

    form = AppointmentAdminForm
    form_ajax_refs = {"owner": owner_loader}
    edit_template = "admin/appointments/edit.html"

    def get_edit_form(self):
        return AppointmentAdminEditForm

    def deleted_along(self, models) -> list[str]:
        """Deleting a series deletes its changed occurrences (ON DELETE CASCADE)."""
        series_ids = [model.id for model in models if model.is_series]
        if not series_ids:
            return []
        count = db.session.scalar(
            select(func.count())
            .select_from(Appointment)
            .where(
                Appointment.series_id.in_(series_ids),
                Appointment.id.not_in([model.id for model in models]),
            )
        )
        if not count:
            return []
        return [
            ngettext(
                "%(num)d changed occurrence of these series is deleted with them.",
                "%(num)d changed occurrences of these series are deleted with them.",
                count,
            )
        ]

    # --- Paging: a fixed depth, and a stable order within equal sort values ----------------

    def last_page(self, page_size: int) -> int:
        return max(MAX_LIST_OFFSET // page_size - 1, 0)

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        if page and page_size:
            page = min(page, self.last_page(page_size))
        return super().get_list(
            page, sort_column, sort_desc, search, filters, execute=execute, page_size=page_size
        )

    def _order_by(self, query, joins, sort_joins, sort_field, sort_desc):
        # Rows with the same sort value (all-day ones, a shared title) keep their place from one
        # page to the next only if the order ends on something unique: the id, in the sort's
        # direction, so that an index on (column, id) read either way gives the order unsorted.
        tiebreak = Appointment.id.desc() if sort_desc else Appointment.id
        if not sort_joins:
            query, joins = super()._order_by(query, joins, sort_joins, sort_field, sort_desc)
            return query.order_by(tiebreak), joins
        # Sorting by the owner's e-mail: every appointment has an owner, so an inner join
        # returns the same rows, and lets the database walk the users in e-mail order through
        # their index instead of joining and sorting the whole table (Flask-Admin joins outer).
        query, joins, alias = self._apply_path_joins(query, joins, sort_joins, inner_join=True)
        column = getattr(alias, sort_field.key)
        return query.order_by(column.desc() if sort_desc else column, tiebreak), joins

    def _apply_search(self, query, count_query, joins, count_joins, search):
        # Each word must match the title, location, description, owner's address or a series'
        # rule, as in Flask-Admin; but the owners are looked up first, in the small users table,
        # so that the condition stays on the appointment table, where PostgreSQL's trigram
        # indexes answer it (a join OR-ed across two tables cannot use them and scans every
        # appointment). The rules have no such index, and an OR with them would scan as well:
        # a word is looked for in them only if it could be part of one.
        for term in search.split():
            pattern = parse_like_term(term)
            matches = [
                Appointment.title.ilike(pattern),
                Appointment.location.ilike(pattern),
                Appointment.description.ilike(pattern),
            ]
            if could_be_in_a_rule(term):
                matches.append(Appointment.rrule.ilike(pattern))
            owners_query = select(User.id).where(User.email.ilike(pattern))
            owners = db.session.scalars(owners_query.limit(MAX_SEARCHED_OWNERS + 1)).all()
            if len(owners) > MAX_SEARCHED_OWNERS:
                matches.append(Appointment.owner_id.in_(owners_query))
            elif owners:
                matches.append(Appointment.owner_id.in_(owners))
            query = query.filter(or_(*matches))
            if count_query is not None:
                count_query = count_query.filter(or_(*matches))
        return query, count_query, joins, count_joins

    # --- Edits and deletes: none made from an outdated version (Appointment.version) ---------

    def update_model(self, form, model) -> bool:
        """Save the edit, unless the appointment changed or was deleted since the form was filled.

        Flask-Admin's update_model reports any error as "Failed to update record" with the
        database's words; a stale edit is refused here with ours, and nothing is saved or logged.
        """
        appointment_id = model.id
        if not form.is_stale(model):
            try:
                return super().update_model(form, model)
            except StaleDataError:  # changed between our read and our write
                db.session.rollback()
        if not _exists(appointment_id):
            flash(str(DELETED_MEANWHILE), "error")
            abort(redirect(get_redirect_target() or self.get_url(".index_view")))
        flash(str(EDIT_CONFLICT), "error")
        form.refused_as_stale = True
        return False

    def delete_model(self, model) -> bool:
        """Delete the appointment, unless it changed since it was loaded for this request."""
        appointment_id = model.id
        try:
            if model.series_id is not None:
                return self._delete_occurrence(model)
            return super().delete_model(model)
        except StaleDataError:
            db.session.rollback()
        flash(str(DELETE_CONFLICT if _exists(appointment_id) else DELETED_MEANWHILE), "error")
        return False

    def _delete_occurrence(self, exception) -> bool:
        """Delete a changed occurrence as its owner's page does: the occurrence is excluded from
        its series, rather than planned again as it was before the change."""
        series = db.session.get(Appointment, exception.series_id)
        try:
            self.on_model_delete(exception)
            with audit.changes_recorded(exception):  # the excluded occurrence
                db.session.delete(exception)
                db.session.flush()  # by its version: StaleDataError if it changed meanwhile
                if series is not None:
                    series_changes.delete_occurrence(series, exception.recurrence_id)
            db.session.commit()
        except SQLAlchemyError as exc:
            if not self.handle_view_exception(exc):
                raise
            db.session.rollback()
            return False
        self.after_model_delete(exception)
        return True

    def on_model_change(self, form, model, is_created) -> None:
        """Record the change; a changed occurrence is a change of its series (its version), and
        a series' changed and deleted occurrences follow it, as on the owner's pages."""
        super().on_model_change(form, model, is_created)
        if is_created:
            return
        if model.series_id is not None:
            series = db.session.get(Appointment, model.series_id)
            if series is not None:
                series_changes.touch(series)
        elif _before(model, "rrule") is not None:
            with audit.changes_recorded(model):
                _follow_series(model)

    def handle_view_exception(self, exc: Exception) -> bool:
        if isinstance(exc, StaleDataError):
            raise exc  # for update_model and delete_model, which say what happened
        return super().handle_view_exception(exc)

    def render(self, template, **kwargs):
        form = kwargs.get("form")
        if template == self.edit_template and isinstance(form, AppointmentAdminEditForm):
            # As the public edit page answers: a refused stale edit 409, a form without its
            # version 400.
            if form.refused_as_stale:
                return super().render(template, **kwargs), 409
            if form.version.errors:
                return super().render(template, **kwargs), 400
        if template == self.list_template:
            page, page_size, data = kwargs["page"] or 0, kwargs["page_size"], kwargs["data"]
            view_args = self.list_view_args(kwargs).clone(page=None)
            # A first page that is not full holds the whole filtered list.
            whole_list = data if page == 0 and len(data) < page_size else None
            kwargs["drilldown"] = self.date_drilldown(view_args, whole_list)
            kwargs["last_page"] = self.last_page(page_size)
            kwargs["page"] = min(page, kwargs["last_page"])
            kwargs["max_list_rows"] = format_decimal(MAX_LIST_OFFSET)
        return super().render(template, **kwargs)

    # --- The date drill-down: years, then months, then days, on the viewer's clock -----------

    @property
    def _date_filter_index(self) -> int:
        return next(i for i, flt in enumerate(self._filters) if flt is self.start_days_filter)

    def date_drilldown(self, view_args, whole_list=None) -> DateDrilldown:
        """Build the links for the list as filtered now, like Django admin's date_hierarchy.

        Each link sets the start date filter (Flask-Admin's own URL argument), keeping the
        search, the other filters, the sort and the page size. ``whole_list``, when the page
        shows every appointment of the list, spares the queries.
        """
        flt, index = self.start_days_filter, self._date_filter_index
        active = view_args.filters or []
        others = [chosen for chosen in active if chosen[0] != index]
        ranges: list[tuple[date, date]] = [
            flt.clean(value) for idx, _name, value in active if idx == index
        ]

        def link(label: str, days: tuple[date, date] | None) -> DateLink:
            filters = list(others)
            if days:
                filters.append((index, str(flt.name), flt.url_value(*days)))
            url = self._get_list_url(view_args.clone(filters=filters or None, page=None))
            return DateLink(label, url)

        locale = get_locale()
        labels = {
            1: lambda day: format_skeleton("y", day, locale=locale),
            2: lambda day: format_date(day, "LLLL", locale=locale),
            3: lambda day: format_skeleton("MMMd", day, locale=locale),
        }
        everything = link(gettext("All dates"), None)
        depth = _range_depth(*ranges[0]) if len(ranges) == 1 else None
        if not ranges:
            drilldown = DateDrilldown(current=everything.label)
        elif depth is None:
            current = (
                format_interval(*ranges[0], "yMMMd", locale=locale)
                if len(ranges) == 1
                else gettext("Chosen dates")
            )
            drilldown = DateDrilldown(current=current, up=[everything])
        else:
            first = ranges[0][0]
            skeleton = ("y", "yMMMM", "yMMMEd")[depth - 1]
            drilldown = DateDrilldown(
                current=format_skeleton(skeleton, first, locale=locale),
                up=[everything]
                + [
                    link(labels[broader](first), _period(first, broader))
                    for broader in range(1, depth)
                ],
            )
        if depth != 3:
            narrower = (depth or 0) + 1
            drilldown.down = [
                link(labels[narrower](day), _period(day, narrower))
                for day in self.start_periods(view_args, narrower, whole_list)
            ]
        return drilldown

    def start_periods(self, view_args, depth: int, whole_list=None) -> list[date]:
        """Return the first day of each year, month or day (depth 1, 2, 3) in which an
        appointment of the filtered list starts, on the viewer's clock.

        Two small queries that the index on the start column answers without reading the
        table: the earliest and the latest start, then one EXISTS probe for each period
        between theirs. (A GROUP BY reads every row: 170 ms for a million on PostgreSQL.)
        """
        zone = user_timezone()
        if whole_list is not None:
            return sorted({_period(a.start.astimezone(zone).date(), depth)[0] for a in whole_list})
        query = self.filtered_query(view_args)
        starts = query.with_entities(Appointment.start)
        # ORDER BY ... LIMIT 1 rather than min() and max(): each walks the index from its end
        # and stops at the first match, where an aggregate over a search reads every row.
        earliest, latest = db.session.execute(
            select(
                starts.order_by(Appointment.start).limit(1).scalar_subquery(),
                starts.order_by(Appointment.start.desc()).limit(1).scalar_subquery(),
            )
        ).one()
        if earliest is None:
            return []
        firsts = _periods_from_to(
            earliest.astimezone(zone).date(), latest.astimezone(zone).date(), depth
        )
        if len(firsts) <= 2:  # the earliest start is in the first period, the latest in the last
            return firsts
        inner = (
            values(
                column("number", Integer),
                column("lo", UTCDateTime),
                column("hi", UTCDateTime),
                name="inner_periods",
            )
            .data(
                [
                    (number, *local_days_in_utc(*_period(first, depth), zone))
                    for number, first in enumerate(firsts[1:-1], start=1)
                ]
            )
            .cte()  # SQLite names a VALUES list's columns only in a WITH clause
        )
        starting_then = query.filter(
            Appointment.start >= inner.c.lo, Appointment.start < inner.c.hi
        ).exists()
        found = db.session.scalars(select(inner.c.number).where(starting_then))
        return [firsts[0], *(firsts[number] for number in sorted(found)), firsts[-1]]


def _before(model, name: str):
    """The value an attribute had when the appointment was loaded."""
    history = inspect(model).attrs[name].history
    return (history.deleted or history.unchanged or [None])[0]


def _changed(model, *names: str) -> bool:
    return any(inspect(model).attrs[name].history.has_changes() for name in names)


def _follow_series(series: Appointment) -> None:
    """After an edit of a series: its changed and deleted occurrences keep their places in it
    when its start or rule changed (those its rule no longer makes become appointments of their
    own), and its changed occurrences keep its owner."""
    # Read before any query: flushing the edit empties the history these come from.
    owner_changed = _changed(series, "owner")
    if _changed(series, "start", "rrule", "series_timezone"):
        zone = zone_named(_before(series, "series_timezone"))
        moved_by = _on_clock(series.start, zone) - _on_clock(_before(series, "start"), zone)
        orphans = series_changes.change_series(series, moved_by, series.rrule)
        if orphans:
            flash(series_changes.kept_apart_message(len(orphans)), "info")
    if owner_changed:
        # Not flushed first: an exception moved above changes once, in one audit entry.
        with db.session.no_autoflush:
            exceptions = db.session.scalars(select(Appointment).filter_by(series_id=series.id))
            for exception in exceptions:
                exception.owner = series.owner


def _on_clock(moment: datetime, zone: tzinfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def _exists(appointment_id: int) -> bool:
    return db.session.scalar(select(Appointment.id).filter_by(id=appointment_id)) is not None


def add_views(admin) -> None:
    """Add the appointment views to the admin panel."""
    admin.add_view(
        AppointmentAdmin(
            Appointment,
            db,
            name=_l("All appointments"),
            endpoint="appointments_admin",
            url="appointments",
        )
    )
