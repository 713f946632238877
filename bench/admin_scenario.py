"""What the admin benchmark measures: the admin appointment list's pages, and how to tell that
each answered what it should (a page that shows an error, or ignores its filter, is no measure).

URL arguments are Flask-Admin's: ``sort=<index in column_list>`` and ``desc=1``, ``search=``,
``flt<position>_<index in column_filters>=``, ``page=`` from 0. The indexes are read from the
view, so the benchmark follows it when columns or filters move.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

from app.admin.appointments import (
    MAX_LIST_OFFSET,
    OWNER_PAGE_SIZE,
    AppointmentAdmin,
    OwnerEmailFilter,
    StartDaysFilter,
)
from bench.scenario import MEASURED_DAY, MEASURED_MONTH, REFERENCE, user_email

ADMIN_LIST = "/admin/appointments/"
REFERENCE_PATH = f"/bench/reference/{MEASURED_MONTH.year}/{MEASURED_MONTH.month}/"
# The staff member is bench/data.py's measured user: 60 appointments in the month's grid.
REFERENCE_APPOINTMENTS = 60
PAGE_SIZE = AppointmentAdmin.page_size
# The last page the pager offers: paging stops MAX_LIST_OFFSET rows deep (pages count from 0).
LAST_PAGE = max(MAX_LIST_OFFSET // PAGE_SIZE - 1, 0)
SEARCHED_OWNER = user_email(500)
TITLE_WORD = "Dentist"  # one of bench/data.py's titles: a tenth of the table
NO_SUCH_WORD = "Orthodontist"  # in no appointment: the search reads every row to find none
OWNER_QUERY = "user01"  # what the owner field's select2 sends as one types: user0100 to 0199
DEPTH_REACHED = 'id="list-depth-reached"'
ROW = 'name="rowid"'
FLASHED = re.compile(r'class="alert[ "]')
ACTIVE_FILTERS = re.compile(r'<div id="active-filters-data" class="d-none">(.*?)</div>', re.DOTALL)

Check = Callable[[str], "str | None"]  # the body -> what is wrong with it, or None


@dataclass(frozen=True)
class AdminPage:
    name: str
    path: str
    what: str
    checks: tuple[Check, ...] = field(default=(), compare=False)
    extra: bool = False  # beyond the list: measured and judged all the same

    def problems(self, body: str) -> list[str]:
        return [problem for check in self.checks if (problem := check(body))]


# --- Checks ------------------------------------------------------------------------------------


def no_flashed_message(body: str) -> str | None:
    """Flask-Admin flashes an error (bad filter value, failed query) and still answers 200."""
    return "the page shows a flashed message" if FLASHED.search(body) else None


def rows(expected: int | None = PAGE_SIZE, at_least: int = 1) -> Check:
    def check(body: str) -> str | None:
        count = body.count(ROW)
        if expected is not None and count != expected:
            return f"{count} rows, not {expected}"
        if count < at_least:
            return f"{count} rows, not at least {at_least}"
        return None

    return check


def contains(text: str, why: str) -> Check:
    return lambda body: None if text in body else why


def lacks(text: str, why: str) -> Check:
    return lambda body: why if text in body else None


def sorted_by(column: str, label: str, descending: bool) -> Check:
    arrow = "down" if descending else "up"
    header = re.compile(
        rf'col-{re.escape(column)}">\s*<a [^>]*>\s*{re.escape(label)}\s*'
        rf'<span class="fa fa-chevron-{arrow}'
    )
    return lambda body: None if header.search(body) else f"not sorted by {column} ({arrow})"


def filtered_by(index: int) -> Check:
    def check(body: str) -> str | None:
        match = ACTIVE_FILTERS.search(body)
        active = json.loads(match.group(1)) if match else []
        return None if any(f[0] == index for f in active) else f"filter {index} is not active"

    return check


def json_list(length: int) -> Check:
    def check(body: str) -> str | None:
        try:
            data = json.loads(body)
        except ValueError:
            return "not JSON"
        return None if isinstance(data, list) and len(data) == length else (
            f"{len(data) if isinstance(data, list) else 'no'} results, not {length}"
        )

    return check


LIST = (no_flashed_message,)

# --- The pages ---------------------------------------------------------------------------------


def list_url(**arguments) -> str:
    return ADMIN_LIST + (f"?{urlencode(arguments)}" if arguments else "")


def sortable_columns() -> list[tuple[int, str, str]]:
    """(index in column_list, column, label) for each column the list sorts by."""
    sortable = {entry[0] if isinstance(entry, tuple) else entry
                for entry in AppointmentAdmin.column_sortable_list}
    labels = AppointmentAdmin.column_labels
    return [(index, column, str(labels.get(column, column)))
            for index, column in enumerate(AppointmentAdmin.column_list) if column in sortable]


def filter_index(kind: type, **attributes) -> int:
    """The position in column_filters of the filter of this class (and attribute values)."""
    for index, flt in enumerate(AppointmentAdmin.column_filters):
        if isinstance(flt, kind) and all(getattr(flt, k) == v for k, v in attributes.items()):
            return index
    raise LookupError(f"no {kind.__name__} in AppointmentAdmin.column_filters")


def all_day_filter_index() -> int:
    for index, flt in enumerate(AppointmentAdmin.column_filters):
        if getattr(getattr(flt, "column", None), "key", None) == "all_day":
            return index
    raise LookupError("no all-day filter in AppointmentAdmin.column_filters")


def date_range(first, last) -> str:
    return f"{first.isoformat()} to {last.isoformat()}"


def admin_pages(edit_id: int) -> list[AdminPage]:
    """Every admin page the issue names, and a few harder cases of them (marked extra)."""
    owner, dates, all_day = (filter_index(OwnerEmailFilter), filter_index(StartDaysFilter),
                             all_day_filter_index())
    year, month = MEASURED_MONTH.year, MEASURED_MONTH
    last_of_month = month.replace(day=calendar.monthrange(year, month.month)[1])
    two_weeks = (MEASURED_DAY - timedelta(days=9), MEASURED_DAY + timedelta(days=4))
    pages = [
        AdminPage("first", ADMIN_LIST, "first page (start, newest first; year drill-down)",
                  (*LIST, rows(), lacks(DEPTH_REACHED, "paging stopped on the first page"))),
        AdminPage("last", list_url(page=LAST_PAGE),
                  f"last page the pager offers, page={LAST_PAGE} ({MAX_LIST_OFFSET:,} rows deep)",
                  (*LIST, rows(), contains(DEPTH_REACHED, "not the last page offered"))),
    ]
    for index, column, label in sortable_columns():
        for descending in (False, True):
            arguments = {"sort": index, **({"desc": 1} if descending else {})}
            name = f"sort-{column.replace('_', '')}{'-desc' if descending else ''}"
            pages.append(AdminPage(
                name, list_url(**arguments),
                f"sorted by {label}, {'descending' if descending else 'ascending'}",
                (*LIST, rows(), sorted_by(column, label, descending)),
            ))
    pages += [
        AdminPage("search-title", list_url(search=TITLE_WORD),
                  f"search a title word, {TITLE_WORD!r} (a tenth of the rows)",
                  (*LIST, rows(), contains(f'value="{TITLE_WORD}"', "search not applied"))),
        AdminPage("search-email", list_url(search=SEARCHED_OWNER),
                  "search an owner's address (in 1 row of 1,000)",
                  (*LIST, rows(), contains(SEARCHED_OWNER, "no row of the owner")), extra=True),
        AdminPage("search-none", list_url(search=NO_SUCH_WORD),
                  f"search a word no appointment has, {NO_SUCH_WORD!r}",
                  (*LIST, rows(0, at_least=0)), extra=True),
        AdminPage("filter-owner", list_url(**{f"flt0_{owner}": SEARCHED_OWNER}),
                  "owner e-mail filter (1,000 rows)",
                  (*LIST, rows(), filtered_by(owner))),
        AdminPage("filter-allday", list_url(**{f"flt0_{all_day}": "1"}),
                  "all-day filter: yes (4 % of rows)",
                  (*LIST, rows(), filtered_by(all_day))),
        AdminPage("filter-dates", list_url(**{f"flt0_{dates}": date_range(*two_weeks)}),
                  "start date filter, two weeks",
                  (*LIST, rows(), filtered_by(dates))),
        AdminPage("drill-year", list_url(**{f"flt0_{dates}": date_range(
                      date(year, 1, 1), date(year, 12, 31))}),
                  f"drill-down: {year}, chosen at the default level; months offered",
                  (*LIST, rows(), filtered_by(dates))),
        AdminPage("drill-month", list_url(**{f"flt0_{dates}": date_range(
                      month, last_of_month)}),
                  f"drill-down: {month:%B %Y}; days offered",
                  (*LIST, rows(), filtered_by(dates)), extra=True),
        AdminPage("edit", f"{ADMIN_LIST}edit/?id={edit_id}", "edit form GET (with the owner)",
                  (contains('name="title"', "no edit form"),
                   contains('data-role="select2-ajax"', "no owner lookup"))),
        AdminPage("owner-lookup", f"{ADMIN_LIST}ajax/lookup/?name=owner&query={OWNER_QUERY}",
                  f"owner AJAX lookup, {OWNER_QUERY!r} (100 users match)",
                  (json_list(OWNER_PAGE_SIZE),)),
    ]
    return pages


def reference_page() -> AdminPage:
    return AdminPage(REFERENCE, REFERENCE_PATH, "bare reference page: the staff user's month",
                     (appointments_shown(REFERENCE_APPOINTMENTS),))


def appointments_shown(expected: int) -> Check:
    def check(body: str) -> str | None:
        count = body.count("<p><a href=")
        return None if count == expected else f"{count} appointments shown, not {expected}"

    return check
