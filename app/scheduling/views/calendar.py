"""The calendar: month, week, day and agenda views of the user's own appointments."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_interval, format_skeleton
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_security import auth_required, current_user
from markupsafe import Markup

from app.core.gettext import lazy_gettext as _l
from app.core.http import page_or_404
from app.core.timezones import (
    MAX_YEAR,
    MIN_YEAR,
    local_days_in_utc,
    local_midnight,
    user_timezone,
)
from app.scheduling import calendar as cal
from app.scheduling.models import COLORS
from app.scheduling.occurrences import Instance, instances_between, upcoming
from app.scheduling.occurrences import past as past_instances

bp = Blueprint("calendar", __name__, template_folder="../templates", url_prefix="/calendar")

# Any number matches, so that day_or_404 can say what is wrong with the date.
YEAR = "<int:year>"
MONTH = "<int:month>"
DAY = "<int:day>"
MONTH_ENTRIES_SHOWN = 3
AGENDA_PER_PAGE = 25
AGENDA_MAX_PAGE = 10_000
AGENDA_EXPORT_SPAN = timedelta(days=90)
# The time grid opens at the start of the working day, or at an earlier appointment.
SLOTS_PER_HOUR = 60 // cal.SLOT_MINUTES
WORKDAY_START_SLOT = 8 * SLOTS_PER_HOUR

NEW_APPOINTMENT_ON = _l("New appointment on %(day)s")
NEW_APPOINTMENT_AT = _l("New appointment at %(time)s")
VIEW_NAMES = {
    "month": _l("Month"),
    "week": _l("Week"),
    "day": _l("Day"),
    "agenda": _l("Agenda"),
}
ALL_DAY = _l("All day")
REPEATS = _l("repeats")
MORE = _l("+%(count)d more")
YEARS_COVERED = _l("The calendar covers the years %(min)d to %(max)d.", min=MIN_YEAR, max=MAX_YEAR)
NO_SUCH_DATE = _l("There is no such date in the calendar.")
DATE_FORMAT = _l("Give the date as YYYY-MM-DD, for example %(example)s.", example="2026-05-01")
# The keys app/static/js/calendar.js answers to, and what they do: the letters are the same in
# every language, the name of a key is not.
SHORTCUTS = [
    (("t",), _l("Go to today")),
    (("n",), _l("Go to the next period")),
    (("p",), _l("Go to the previous period")),
    (("←", "→", "↑", "↓"), _l("In the month: move to another day")),
    ((_l("Enter"),), _l("In the month: open the day")),
    (("Alt", "↑", "↓"), _l("In the week and day: move the chosen appointment by 15 minutes")),
    (("Alt", "←", "→"), _l("In the week and day: move the chosen appointment by a day")),
    (
        ("Alt", _l("Shift"), "↑", "↓"),
        _l("In the week and day: make the chosen appointment end 15 minutes earlier or later"),
    ),
    (("?",), _l("Show these shortcuts")),
]


@dataclass
class Viewer:
    """Whose calendar is shown, and how: time zone, language, first day of the week, today."""

    tz: ZoneInfo
    locale: Locale
    locale_id: str
    first_weekday: int
    now: datetime
    today: date
    # Translated once per page, then filled in for each of its many days and hours.
    new_on: str = ""
    new_at: str = ""
    all_day: str = ""
    repeats: str = ""
    more: str = ""
    day_prefix: str = ""
    week_prefix: str = ""
    appointment_prefix: str = ""
    create_url: str = ""

    @classmethod
    def current(cls) -> Viewer:
        tz = user_timezone()
        locale = get_locale()
        now = datetime.now(tz)
        return cls(
            tz=tz,
            locale=locale,
            locale_id=str(locale),
            first_weekday=cal.first_weekday(locale.language, str(tz)),
            now=now,
            today=now.date(),
            new_on=str(NEW_APPOINTMENT_ON),
            new_at=str(NEW_APPOINTMENT_AT),
            all_day=str(ALL_DAY),
            repeats=str(REPEATS),
            more=str(MORE),
            day_prefix=url_for("calendar.index") + "day/",
            week_prefix=url_for("calendar.index") + "week/",
            appointment_prefix=url_for("scheduling.appointment_list"),
            create_url=url_for("scheduling.appointment_create"),
        )

    def day_url(self, day: date) -> str:
        """The day view's URL, built without url_for: the month grid needs it for 42 days."""
        return f"{self.day_prefix}{day.year}/{day.month}/{day.day}/"

    def week_url(self, day: date) -> str:
        """The week view's URL around a day, built as day_url."""
        return f"{self.week_prefix}{day.year}/{day.month}/{day.day}/"

    def count(self, number: int) -> str:
        """Say how many appointments a day has, translated once per number on a page."""
        if number not in self._counts:
            self._counts[number] = ngettext("%(num)d appointment", "%(num)d appointments", number)
        return self._counts[number]

    @functools.cached_property
    def _counts(self) -> dict[int, str]:
        return {}

    def href(self, instance: Instance) -> str:
        """An appointment's or occurrence's page, built without url_for, as day_url."""
        link = instance.link
        url = f"{self.appointment_prefix}{link['appointment_id']}/"
        return f"{url}?occurrence={link['occurrence']}" if "occurrence" in link else url

    def move_url(self, instance: Instance) -> str:
        """Where the calendar's script sends new times for it (app/scheduling/views/moves.py)."""
        link = instance.link
        url = f"{self.appointment_prefix}{link['appointment_id']}/move/"
        return f"{url}?occurrence={link['occurrence']}" if "occurrence" in link else url

    @staticmethod
    def color(instance: Instance) -> str:
        """The classes that give an appointment its colour (" color-teal"); "" for none."""
        return f" color-{instance.color}" if instance.color in COLORS else ""

    def mark(self, instance: Instance) -> Markup:
        """The sign of an occurrence of a series ("↻", read out as "(repeats)"); "" for the
        rest. The label is escaped like any translation."""
        return self._mark if instance.repeating else Markup("")

    @functools.cached_property
    def _mark(self) -> Markup:
        return Markup(
            ' <span class="repeat-mark" aria-hidden="true">↻</span>'
            '<span class="visually-hidden">({label})</span>'
        ).format(label=self.repeats)

    def time(self, moment: datetime) -> str:
        return cal.short_time(moment.hour, moment.minute, self.locale_id)

    def label(self, entry: cal.Entry, day: date) -> str:
        """How a day shows an entry's time: "10:00", "All day", or "10:00 →" / "→ 11:00"."""
        if entry.appointment.all_day:
            return self.all_day
        if entry.first_day == day and entry.spans_days:
            return f"{self.time(entry.local_start)} →"
        if entry.last_day == day and entry.spans_days:
            return f"→ {self.time(entry.local_end)}"
        if entry.spans_days:
            return self.all_day
        return self.time(entry.local_start)

    def format(self, skeleton: str, day: date) -> str:
        return format_skeleton(skeleton, day, locale=self.locale)

    def long_date(self, day: date) -> str:
        return cal.long_date(day, self.locale_id)


@dataclass(slots=True)
class Line:
    """An appointment as a view prints it (a line of a day, a box of the time grid): worked
    out in Python once, so that the templates only fill in text."""

    href: str
    time: str
    title: str
    whole_day: bool
    mark: Markup
    color: str = ""  # its colour's classes, with a space in front
    # A box of the time grid, to drag: where its new times go, the version they are checked
    # against, its start and end on the viewer's clock as the move's form takes them.
    move_url: str = ""
    version: int = 0
    start: str = ""
    end: str = ""


def lines(viewer: Viewer, entries: list[cal.Entry], day: date) -> list[Line]:
    """How a day lists these entries."""
    return [
        Line(
            viewer.href(entry.appointment),
            viewer.label(entry, day),
            entry.appointment.title,
            entry.whole_day,
            viewer.mark(entry.appointment),
            viewer.color(entry.appointment),
        )
        for entry in entries
    ]


@dataclass(slots=True)
class MonthDay:
    """A day of the month grid, as printed: worked out here once, so that the template only
    fills in 42 days and their lines."""

    day: date
    name: str
    url: str
    create_url: str
    new_here: str
    lines: list[Line]
    more: str
    # What a phone shows instead of the lines: how many, and that number said in words.
    count: int
    count_label: str

    @classmethod
    def of(cls, day: date, entries: list[cal.Entry], viewer: Viewer) -> MonthDay:
        name = viewer.long_date(day)
        hidden = len(entries) - MONTH_ENTRIES_SHOWN
        return cls(
            day=day,
            name=name,
            url=viewer.day_url(day),
            create_url=f"{viewer.create_url}?start={day.isoformat()}T09:00",
            new_here=viewer.new_on % {"day": name},
            lines=lines(viewer, entries[:MONTH_ENTRIES_SHOWN], day),
            more=viewer.more % {"count": hidden} if hidden > 0 else "",
            count=len(entries),
            count_label=viewer.count(len(entries)) if entries else "",
        )


@dataclass(frozen=True, slots=True)
class MiniDay:
    """A day of the small month beside the week and day views: a link to its week or day."""

    number: int
    url: str
    name: str
    css: str
    today: bool


def mini_month(viewer: Viewer, view: str, anchor: date, shown: list[date]) -> dict[str, Any]:
    """The small month grid around ``anchor`` to jump with, its days linking to the view's
    own kind (a week, or a day); the days on the page marked."""
    first = anchor.replace(day=1)
    prefix = viewer.week_prefix if view == "week" else viewer.day_prefix
    weeks = _mini_weeks(
        prefix, first, viewer.first_weekday, viewer.locale_id, viewer.today, tuple(shown)
    )
    return {
        "title": _month_name(first, viewer.locale_id),
        "url": view_url("month", first),
        # The months before and after, named (a link called "Next" is the navigation's).
        "previous": (
            view_url(view, cal.add_months(anchor, -1)),
            _month_name(cal.add_months(first, -1), viewer.locale_id),
        ),
        "next": (
            view_url(view, cal.add_months(anchor, 1)),
            _month_name(cal.add_months(first, 1), viewer.locale_id),
        ),
        "headings": weekday_names(viewer, list(weeks[0]), "short"),
        "weeks": [[day for _, day in week] for week in weeks[1]],
    }


@functools.lru_cache(maxsize=1024)
def _month_name(first: date, locale_id: str) -> str:
    return format_skeleton("yMMMM", first, locale=locale_id)


@functools.lru_cache(maxsize=1024)
def _mini_weeks(
    prefix: str, first: date, first_weekday: int, locale_id: str, today: date, shown: tuple
) -> tuple[tuple[date, ...], list[list[tuple[date, MiniDay]]]]:
    """The small month's first week's days and its cells, built once per month, language,
    page and day: every week and day view prints one."""
    weeks = cal.month_grid(first.year, first.month, first_weekday)
    on_page = set(shown)
    cells = [
        [
            (
                day,
                MiniDay(
                    day.day,
                    f"{prefix}{day.year}/{day.month}/{day.day}/",
                    cal.long_date(day, locale_id),
                    " ".join(
                        name
                        for name, applies in (
                            ("other-month", day.month != first.month),
                            ("shown", day in on_page),
                            ("today", day == today),
                        )
                        if applies
                    ),
                    day == today,
                ),
            )
            for day in week
        ]
        for week in weeks
    ]
    return tuple(weeks[0]), cells


def entries_between(viewer: Viewer, days: list[date]) -> dict[date, list[cal.Entry]]:
    """Load what the user has on these local days: single appointments and occurrences."""
    start, end = local_days_in_utc(days[0], days[-1], viewer.tz)
    return cal.entries_by_day(instances_between(current_user, start, end), days, viewer.tz)


def day_or_404(year: int, month: int, day: int) -> date:
    """Return the calendar's date; 404, saying why, for one that does not exist or lies
    outside the years the calendar covers."""
    if not MIN_YEAR <= year <= MAX_YEAR:  # before date(): year 0 or 10000 is no date
        abort(404, description=str(YEARS_COVERED))
    try:
        return date(year, month, day)
    except (ValueError, OverflowError):
        abort(404, description=str(NO_SUCH_DATE))


def date_argument(name: str) -> date | None:
    """Read the date in ?name=YYYY-MM-DD; None when there is none.

    Something else than a date answers 400; a date outside the calendar's years 404, as the
    views' own URLs do.
    """
    value = request.args.get(name)
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        abort(400, description=str(DATE_FORMAT))
    return day_or_404(day.year, day.month, day.day)


def view_url(view: str, day: date) -> str:
    """The URL of a view around a day (the agenda starts on it)."""
    if view == "month":
        return url_for("calendar.month", year=day.year, month=day.month)
    if view == "agenda":
        return url_for("calendar.agenda", start=day.isoformat())
    return url_for(f"calendar.{view}", year=day.year, month=day.month, day=day.day)


def render_view(
    template: str,
    view: str,
    anchor: date,
    previous: date,
    following: date,
    title: str,
    viewer: Viewer,
    exported: tuple[date, date],
    **context,
):
    """Render a calendar view with its navigation; ``exported`` is the span its .ics link gets."""
    # "from" is a keyword: the range goes in as a dict (of Any, as url_for's values are).
    export_range: dict[str, Any] = {"from": exported[0], "to": exported[1]}
    return render_template(
        f"scheduling/{template}",
        view=view,
        anchor=anchor,
        title=title,
        viewer=viewer,
        views=[(name, label, view_url(name, anchor)) for name, label in VIEW_NAMES.items()],
        previous_url=view_url(view, previous),
        next_url=view_url(view, following),
        today_url=view_url(view, viewer.today),
        create_url=viewer.create_url,
        export_url=url_for("ical.export_range", **export_range),
        shortcuts=SHORTCUTS,
        **context,
    )


def weekday_headings(viewer: Viewer, days: list[date]) -> list[tuple[str, str]]:
    """(full name, short name) of each weekday, in the viewer's language."""
    return weekday_names(viewer, days, "abbreviated")


def weekday_names(viewer: Viewer, days: list[date], short: str) -> list[tuple[str, str]]:
    """(full name, name of the width ``short``: "abbreviated", "short") of each weekday."""
    names = viewer.locale.days["format"]
    return [(names["wide"][day.weekday()], names[short][day.weekday()]) for day in days]


@bp.route("/")
@auth_required()
def index():
    today = Viewer.current().today
    return redirect(url_for(".month", year=today.year, month=today.month))


@bp.route("/jump")
@auth_required()
def jump():
    """Go to the view asked for around a date typed into the jump form."""
    view = request.args.get("view", "month")
    if view not in VIEW_NAMES:
        view = "month"
    day = date_argument("date") or Viewer.current().today
    return redirect(view_url(view, day))


@bp.route(f"/month/{YEAR}/{MONTH}/")
@auth_required()
def month(year: int, month: int):
    first = day_or_404(year, month, 1)
    viewer = Viewer.current()
    weeks = cal.month_grid(year, month, viewer.first_weekday)
    by_day = entries_between(viewer, [day for week in weeks for day in week])
    # The day in view, which the other views open on: today in this month, else the 1st.
    today = viewer.today
    anchor = today if (today.year, today.month) == (year, month) else first
    return render_view(
        "calendar_month.html",
        "month",
        anchor,
        previous=cal.add_months(first, -1),
        following=cal.add_months(first, 1),
        title=viewer.format("yMMMM", first),
        viewer=viewer,
        exported=(first, cal.add_months(first, 1) - cal.DAY),
        weeks=[[MonthDay.of(day, by_day[day], viewer) for day in week] for week in weeks],
        headings=weekday_headings(viewer, weeks[0]),
    )


@bp.route(f"/week/{YEAR}/{MONTH}/{DAY}/")
@auth_required()
def week(year: int, month: int, day: int):
    viewer = Viewer.current()
    anchor = day_or_404(year, month, day)
    days = cal.week_days(anchor, viewer.first_weekday)
    by_day = entries_between(viewer, days)
    title = format_interval(days[0], days[-1], "yMMMd", locale=viewer.locale)
    return render_view(
        "calendar_week.html",
        "week",
        anchor,
        previous=anchor - cal.WEEK,
        following=anchor + cal.WEEK,
        title=title,
        viewer=viewer,
        exported=(days[0], days[-1]),
        mini=mini_month(viewer, "week", anchor, days),
        **time_grid(viewer, days, by_day, listed=True),
    )


@bp.route(f"/day/{YEAR}/{MONTH}/{DAY}/")
@auth_required()
def day(year: int, month: int, day: int):
    viewer = Viewer.current()
    anchor = day_or_404(year, month, day)
    days = [anchor]
    by_day = entries_between(viewer, days)
    return render_view(
        "calendar_week.html",
        "day",
        anchor,
        previous=anchor - cal.DAY,
        following=anchor + cal.DAY,
        title=viewer.long_date(anchor),
        viewer=viewer,
        exported=(anchor, anchor),
        mini=mini_month(viewer, "day", anchor, days),
        **time_grid(viewer, days, by_day, listed=False),
    )


def boxes(viewer: Viewer, placed: list[cal.Placed]) -> list[tuple[str, Line]]:
    """A day's timed entries on its time grid: each box's classes (its place) and line."""
    return [
        (
            f"event t{box.top} h{box.height} c{box.column}of{box.columns}"
            f"{viewer.color(box.entry.appointment)}",
            Line(
                viewer.href(box.entry.appointment),
                f"{viewer.time(box.entry.local_start)}–{viewer.time(box.entry.local_end)}",
                box.entry.appointment.title,
                False,
                viewer.mark(box.entry.appointment),
                move_url=viewer.move_url(box.entry.appointment),
                version=box.entry.appointment.version,
                start=f"{box.entry.local_start:%Y-%m-%dT%H:%M}",
                end=f"{box.entry.local_end:%Y-%m-%dT%H:%M}",
            ),
        )
        for box in placed
    ]


def all_day_row(viewer: Viewer, entries: list[cal.Entry], day: date) -> list[Line]:
    """A day's lines in the all-day row; there an all-day appointment needs no "All day"."""
    whole = [entry for entry in entries if entry.whole_day]
    row = lines(viewer, whole, day)
    for line, entry in zip(row, whole, strict=True):
        if entry.appointment.all_day:
            line.time = ""
    return row


def time_grid(
    viewer: Viewer, days: list[date], by_day: dict[date, list[cal.Entry]], listed: bool
) -> dict[str, Any]:
    """What the week and day views print: per day, the all-day row, the boxes of the time
    grid and, for phones, the list (``listed``); the hours, once for every day; where the
    grid opens and where the line of the present moment goes."""
    hours = [viewer.time(datetime(2000, 1, 1, hour)) for hour in range(24)]
    labels = [viewer.new_at % {"time": hour} for hour in hours]
    placed = {day: cal.layout_day(by_day[day]) for day in days}
    now = viewer.now
    now_minute = now.hour * 60 + now.minute
    return {
        "days": days,
        "headings": weekday_headings(viewer, days),
        "whole_days": {day: all_day_row(viewer, by_day[day], day) for day in days},
        "boxes": {day: boxes(viewer, placed[day]) for day in days},
        "listed": {day: lines(viewer, by_day[day], day) for day in days} if listed else {},
        "hours": hours,
        # Each hour's slot, for each day: the new appointment it proposes, and what it says to
        # a screen reader. calendar.js adds a link for each quarter hour, for the mouse.
        "slots": {
            day: [
                (f"{viewer.create_url}?start={day.isoformat()}T{hour:02d}:00", label)
                for hour, label in enumerate(labels)
            ]
            for day in days
        },
        # The hour of the first appointment, when it is earlier than the working day.
        "scroll_slot": min(
            [WORKDAY_START_SLOT]
            + [
                day_boxes[0].top - day_boxes[0].top % SLOTS_PER_HOUR
                for day_boxes in placed.values()
                if day_boxes
            ]
        ),
        "now_day": now.date(),
        "now_minute": now_minute,
        "now_css": f"now-line t{now_minute // cal.SLOT_MINUTES}",
    }


@bp.route("/agenda/")
@auth_required()
def agenda():
    viewer = Viewer.current()
    anchor = date_argument("start") or viewer.today
    past = request.args.get("past") == "1"
    page = page_or_404(max_page=AGENDA_MAX_PAGE)
    cutoff = local_midnight(anchor, viewer.tz)
    # Everything up to this page, and one more to tell whether there is a next page.
    wanted = page * AGENDA_PER_PAGE + 1
    found = (
        past_instances(current_user, cutoff, wanted)
        if past
        else upcoming(current_user, cutoff, wanted)
    )
    rows = found[(page - 1) * AGENDA_PER_PAGE :]
    has_more = len(rows) > AGENDA_PER_PAGE
    groups = agenda_groups(rows[:AGENDA_PER_PAGE], viewer, anchor, past)
    return render_view(
        "calendar_agenda.html",
        "agenda",
        anchor,
        previous=anchor - cal.WEEK,
        following=anchor + cal.WEEK,
        title=_("From %(date)s", date=viewer.format("yMMMEd", anchor)),
        viewer=viewer,
        exported=(anchor, anchor + AGENDA_EXPORT_SPAN),
        groups=groups,
        past=past,
        page=page,
        has_more=has_more,
    )


def agenda_groups(instances: list[Instance], viewer: Viewer, anchor: date, past: bool):
    """Group appointments under the day they show on, first shown day first."""
    groups: dict[date, list[cal.Entry]] = {}
    for appointment in instances:
        first, last = cal.covered_days(
            appointment.start, appointment.end, appointment.all_day, viewer.tz
        )
        day = first if past else max(first, anchor)
        entry = cal.Entry(
            appointment,
            first,
            last,
            appointment.start.astimezone(viewer.tz),
            appointment.end.astimezone(viewer.tz),
        )
        groups.setdefault(day, []).append(entry)
    return list(groups.items())
