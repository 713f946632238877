"""What every model screen of the admin panel shares: SchedModelView, the base of the appointment,
user, role and audit log views, and its guards against bad input.

Who may see and change what is app/admin/security.py's; each screen is a module of its own
(app/admin/appointments.py, users.py, audit.py, translations.py, dashboard.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from babel.dates import format_datetime, get_timezone_location
from flask import abort, after_this_request, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.babel import gettext as admin_gettext
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import DateBetweenFilter
from flask_admin.helpers import flash_errors, get_redirect_target
from flask_admin.model.base import ViewArgs
from flask_babel import format_decimal, get_locale, gettext
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app.accounts.models import AUDIT_READ
from app.admin.security import PermissionRequired, has_permission
from app.audit import recording as audit
from app.core.db import (
    MAX_INT,
    database_error_summary,
    database_unavailable_reason,
    now_utc,
    parse_id,
)
from app.core.errors import refuse_input
from app.core.timezones import in_calendar_years, user_timezone
from app.extensions import db

# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """Keep text a spreadsheet would run as a formula from running (OWASP's CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return f"'{value}"
    return value


def is_page_number(text: str, page_size: int) -> bool:
    """Tell whether ?page= holds a page a list may have: counted from 0, as Flask-Admin's pager
    counts, and starting at a row an integer can number (an OFFSET the database takes)."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_INT)):
        return False
    return int(text) * page_size <= MAX_INT


def is_sensible_filter_value(view, flt, value: str) -> bool:
    """Tell whether a list filter's value, which its filter could read, is one to use.

    A date must fall within the calendar's years: Flask-Admin's date filters read any year
    from 1 to 9999, and a filter's day arithmetic then overflows (the day after 9999-12-31;
    year 1 moved to UTC from a zone east of it): a 500. A filter with a menu of choices takes
    one of them (each of them for a list): anything else was not chosen from its menu.
    """
    cleaned = flt.clean(value)
    items = cleaned if isinstance(cleaned, list | tuple) else [cleaned]
    if any(isinstance(item, date) and not in_calendar_years(item) for item in items):
        return False
    options = flt.get_options(view)
    if options:
        choices = {str(key) for key, _label in options}
        chosen = [str(item) for item in cleaned] if isinstance(cleaned, list) else [value]
        return all(item in choices for item in chosen)
    return True


# "Select all N": at most this many rows at once, each named on the delete confirmation page.
SELECT_ACROSS_MAX = 1000


@dataclass(frozen=True)
class FilterChoice:
    """One link of a sidebar filter: its label, the list's URL with it, whether it is chosen."""

    label: str
    url: str
    chosen: bool = False


@dataclass
class SidebarFilter:
    """A filter beside the list, as Django's admin shows them: links to choose from, or a box to
    type a value in (``field_name``, ``hidden`` the list's other arguments), and the filters of
    this group the URL chose, each with a link that removes it."""

    title: str
    choices: list[FilterChoice] = field(default_factory=list)
    field_name: str = ""
    field_id: str = ""
    operation: str = ""
    value: str = ""
    hidden: dict[str, str] = field(default_factory=dict)
    chosen: list[FilterChoice] = field(default_factory=list)


def zone_label(zone: tzinfo) -> str:
    """Name a time zone by its city, in the viewer's language: "Berlin time"."""
    city = get_timezone_location(zone, locale=get_locale(), return_city=True)
    return gettext("%(city)s time", city=city)


def on_clock(moment: datetime, zone: tzinfo, format: str = "short") -> str:
    """Format an aware datetime on ``zone``'s clock, in the viewer's language."""
    return format_datetime(moment, format, tzinfo=zone, locale=get_locale())


def differs_on_clocks(moment: datetime, zone: tzinfo, other: tzinfo) -> bool:
    """Tell whether two clocks show ``moment`` differently (not merely under another name)."""
    return moment.astimezone(zone).replace(tzinfo=None) != moment.astimezone(other).replace(
        tzinfo=None
    )


def _date_presets(today: date) -> list[tuple[str, date, date]]:
    """The date ranges a sidebar date filter offers, as Django's admin does."""
    month_start = today.replace(day=1)
    return [
        (gettext("Today"), today, today),
        (gettext("Past 7 days"), today - timedelta(days=6), today),
        (
            gettext("This month"),
            month_start,
            (month_start + timedelta(days=31)).replace(day=1) - timedelta(days=1),
        ),
        (gettext("This year"), today.replace(month=1, day=1), today.replace(month=12, day=31)),
    ]


def _answer_conflict(response):
    response.status_code = 409
    return response


class SchedModelView(PermissionRequired, ModelView):
    """A model view whose create, edit and delete follow the write permission."""

    form_base_class = FlaskForm  # Flask-WTF's CSRF token, valid in every worker and host
    # Flask-Admin's pages, labelled and valid HTML (app/admin/templates/admin/sched/).
    list_template = "admin/sched/list.html"
    create_template = "admin/sched/create.html"
    edit_template = "admin/sched/edit.html"
    details_template = "admin/sched/details.html"
    page_size = 25
    page_size_options = (25, 50, 100)
    can_set_page_size = True
    # Columns of times, whose header names the viewer's time zone.
    zoned_columns: tuple[str, ...] = ()
    # The audit log's name for this view's objects (app/admin/audit.py, ObjectHistoryFilter):
    # set, the edit and details pages link to the object's history.
    history_kind: str | None = None

    def validate_form(self, form) -> bool:
        valid = super().validate_form(form)
        # Flask-Admin shows only errors that are str; ours are lazy, translated when shown.
        for form_field in form:
            form_field.errors = [str(error) for error in form_field.errors]
        return valid

    # Every change made here goes into the audit log (app/audit/recording.py), in the same
    # transaction as the change: Flask-Admin commits right after these hooks.
    def on_model_change(self, form, model, is_created) -> None:
        audit.record_change(model, is_created)

    def on_model_delete(self, model) -> None:
        audit.record_delete(model)

    def handle_view_exception(self, exc: Exception) -> bool:
        # Flask-Admin would flash the database's error as it is: the SQL statement, and (but for
        # the engine's hide_parameters) the values, a password hash among them.
        if database_unavailable_reason(exc):
            raise exc  # the site's 503 page (app/core/errors.py)
        if isinstance(exc, IntegrityError):
            # A unique value taken, or a row gone, between the form's checks and the save.
            current_app.logger.warning(
                "Admin panel, %s: the database refused a change: %s",
                self.endpoint,
                database_error_summary(exc),
            )
            flash(
                gettext(
                    "Nothing was saved: the change conflicts with a record saved meanwhile (the "
                    "same e-mail address, say). Check the form and save again."
                ),
                "error",
            )
            after_this_request(_answer_conflict)
            return True
        if isinstance(exc, SQLAlchemyError):
            current_app.logger.error(
                "Admin panel, %s: a change failed", self.endpoint, exc_info=exc
            )
            flash(gettext("Nothing was saved: the database refused the change."), "error")
            return True
        return super().handle_view_exception(exc)

    # --- Bad input: what Flask-Admin lets through, or answers with a redirect or a 500 ---------
    # Every model here has an integer key, so an id is a number from 1 to MAX_INT (parse_id).

    def get_one(self, id):
        """Return the row with this id; an id that names none, or is no id, answers 404."""
        key = parse_id(id)
        model = None if key is None else db.session.get(self.model, key)
        if model is None:
            abort(404, description=admin_gettext("Record does not exist."))
        return model

    def _get_list_extra_args(self):
        """Read the list's arguments from the URL; a page that is no page number answers 400.

        Flask-Admin reads ?page= with int(): a negative page reaches the database as a negative
        OFFSET (PostgreSQL refuses it: a 500), a huge one as an OFFSET past its integers, and
        "two" silently means the first page. 400 rather than the nearest page: no link of ours
        carries such a number, and showing another page under it would leave the pager and the
        address disagreeing. A page past the last row is a page number all the same: Flask-Admin
        shows it empty, as when the list shrank since its pager was drawn.
        """
        view_args = super()._get_list_extra_args()
        page = request.args.get("page")
        if page is not None and not is_page_number(
            page, self.get_safe_page_size(view_args.page_size)
        ):
            abort(400, description=gettext("This list has no such page."))
        return view_args

    def _get_list_filter_args(self):
        """The filters the URL chooses, but for values no filter here should take (see
        is_sensible_filter_value): those are refused as Flask-Admin refuses a value its filter
        cannot read, with its message, and the list answers 400 (get_invalid_value_msg)."""
        filters = super()._get_list_filter_args()
        if not filters:
            return filters
        accepted = []
        for chosen in filters:
            index, _name, value = chosen
            flt = self._filters[index]
            if is_sensible_filter_value(self, flt, value):
                accepted.append(chosen)
            else:
                flash(self.get_invalid_value_msg(value, flt), "error")
        return accepted

    def get_invalid_value_msg(self, value, filter) -> str:
        """Flask-Admin flashes this for a filter value it ignores; the list then answers 400."""
        refuse_input()
        return super().get_invalid_value_msg(value, filter)

    def handle_action(self, return_view=None):
        """Run a bulk action on rows chosen from the list, or on every row its search and
        filters match ("Select all N": select_across, the list's arguments in the URL);
        anything else is refused."""
        if not any(self.is_action_allowed(known) for known in self._actions_data):
            abort(403)
        name = request.form.get("action")
        if name not in self._actions_data:
            abort(400, description=gettext("Choose an action from the list."))
        if not self.is_action_allowed(name):
            abort(403)
        if request.form.get("select_across") == "1":
            ids = self.matching_ids()
        else:
            ids = request.form.getlist("rowid")
            if (
                not ids
                or len(ids) > SELECT_ACROSS_MAX
                or any(parse_id(value) is None for value in ids)
            ):
                abort(400, description=gettext("Choose the rows from the list."))
        # Flask-Admin's handle_action, but for the ids, which it reads from the form alone.
        form = self.action_form()
        if self.validate_form(form):
            response = self._actions_data[name][0](ids)
            if response is not None:
                return response
        else:
            flash_errors(form, message="Failed to perform action. %(error)s")
        return redirect(get_redirect_target() or self.get_url(".index_view"))

    def get_export_value(self, model, name):
        """Every export's cells, whatever their formatter, are safe to open in a spreadsheet."""
        return spreadsheet_safe(super().get_export_value(model, name))

    @expose("/export/<export_type>/")
    def export(self, export_type: str):
        """Flask-Admin redirects with "Permission denied." for any type; say 404 or 403."""
        if export_type not in self.export_types:
            abort(404)
        if not self.can_export:
            abort(403)
        return super().export(export_type)

    # Flask-Admin's own name and (translated) label; no confirm() box: a page of its own asks.
    @action(*ModelView.action_delete._action[:2])
    def action_delete(self, ids):
        """Show what deleting the selected rows removes and ask; delete them once confirmed.

        The rows are looked up by their ids as the integers they are: Flask-Admin compares the
        key with the ids as the form sent them, strings, which SQLite converts and PostgreSQL
        refuses (`integer = character varying`, flask-admin issue #2951).
        """
        keys = tuple(parse_id(value) for value in ids)
        if request.form.get("confirmed") != "1":
            models = db.session.scalars(
                select(self.model).where(self.model.id.in_(keys)).order_by(self.model.id)
            ).all()
            if not models:
                abort(404, description=admin_gettext("Record does not exist."))
            return self.render(
                "admin/sched/delete_selected.html",
                objects=[(model.id, audit.describe(model)) for model in models],
                deleted_along=self.deleted_along(models),
                return_url=get_redirect_target() or self.get_url(".index_view"),
            )
        super().action_delete(keys)
        return None

    @expose("/ajax/update/", methods=("POST",))
    def ajax_update(self):
        """Flask-Admin's inline list editing does not check can_edit itself; we do."""
        if not self.can_edit:
            abort(403)
        return super().ajax_update()

    # --- What staff see beside the list: sidebar filters, "select all N", history ---------

    def list_view_args(self, kwargs) -> ViewArgs:
        """The list's arguments, from what index_view hands its template."""
        return ViewArgs(
            page=kwargs["page"],
            page_size=kwargs["page_size"],
            sort=kwargs["sort_column"],
            sort_desc=kwargs["sort_desc"],
            search=kwargs["search"],
            filters=kwargs["active_filters"],
            extra_args=kwargs["extra_args"],
        )

    def filtered_query(self, view_args):
        """Return the list's query with its search and filters, unsorted and unpaged."""
        # The same steps as Flask-Admin's get_list, without its sorting, paging and eager joins.
        query = self.get_query()
        joins: dict = {}
        if self._search_supported and view_args.search:
            query, _, joins, _ = self._apply_search(query, None, joins, {}, view_args.search)
        if view_args.filters and self._filters:
            query, _, joins, _ = self._apply_filters(query, None, joins, {}, view_args.filters)
        return query

    def matching_count(self, view_args, count: int | None, shown: int) -> int:
        """How many rows the list's search and filters match, counted up to one more than
        SELECT_ACROSS_MAX (a bounded count, cheap on a big table)."""
        if count is not None:
            return min(count, SELECT_ACROSS_MAX + 1)
        if not view_args.page and shown < view_args.page_size:
            return shown
        keys = self.filtered_query(view_args).with_entities(self.model.id)
        limited = keys.limit(SELECT_ACROSS_MAX + 1).subquery()
        return db.session.scalar(select(func.count()).select_from(limited)) or 0

    def matching_ids(self) -> list[str]:
        """The ids of every row the list's search and filters (this request's URL) match."""
        view_args = self._get_list_extra_args()
        keys = self.filtered_query(view_args).with_entities(self.model.id)
        ids = [str(key) for (key,) in keys.order_by(self.model.id).limit(SELECT_ACROSS_MAX + 1)]
        if len(ids) > SELECT_ACROSS_MAX:
            abort(
                400,
                description=gettext(
                    "More than %(count)s rows match: filter or search the list to choose fewer.",
                    count=format_decimal(SELECT_ACROSS_MAX),
                ),
            )
        if not ids:
            abort(400, description=gettext("Choose the rows from the list."))
        return ids

    def sidebar_filters(self, view_args) -> list[SidebarFilter]:
        """The list's filters as Django's admin shows them beside its list: for each group,
        the choices of its first filter that has a menu, else a date's ranges, else a box for
        its first filter's value; and any other filter of the group that the URL chose, with
        a link that removes it."""
        if not self._filters:
            return []
        active = list(view_args.filters or [])
        groups: dict[str, list[int]] = {}
        for index, flt in enumerate(self._filters):
            groups.setdefault(str(flt.name), []).append(index)

        def list_url(filters) -> str:
            return self._get_list_url(view_args.clone(filters=filters or None, page=None))

        today = now_utc().astimezone(user_timezone()).date()
        sidebar = []
        for number, (title, indexes) in enumerate(groups.items()):
            others = [chosen for chosen in active if chosen[0] not in indexes]
            mine = [chosen for chosen in active if chosen[0] in indexes]
            group = SidebarFilter(title=title)
            with_menu = [i for i in indexes if self._filters[i].get_options(self)]
            dates = [i for i in indexes if isinstance(self._filters[i], DateBetweenFilter)]
            # The one filter of the group the links or the box stand for, and its values.
            if with_menu:
                index = with_menu[0]
                values = [
                    (str(key), str(label)) for key, label in self._filters[index].get_options(self)
                ]
                everything = gettext("All")
            elif dates:
                index = dates[0]
                values = [
                    (f"{first.isoformat()} to {last.isoformat()}", label)
                    for label, first, last in _date_presets(today)
                ]
                everything = gettext("Any date")
            else:
                index = indexes[0]
                values = []
                everything = ""
            box = not values and getattr(self._filters[index], "sidebar_box", True)
            shown = None  # the chosen filter that the links or the box show
            offered = {value for value, _label in values}
            if len(mine) == 1 and mine[0][0] == index and (box or mine[0][2] in offered):
                shown = mine[0]
            if values:
                group.choices = [FilterChoice(everything, list_url(others), not mine)] + [
                    FilterChoice(
                        label,
                        list_url([*others, (index, title, value)]),
                        shown is not None and shown[2] == value,
                    )
                    for value, label in values
                ]
            elif box:
                flt = self._filters[index]
                group.field_name = f"flt{len(others)}_{self.get_filter_arg(index, flt)}"
                group.field_id = f"sidebar-filter-field-{number}"
                group.operation = str(flt.operation())
                group.value = shown[2] if shown is not None else ""
                group.hidden = self._list_arguments(view_args.clone(filters=others or None))
            group.chosen = [
                FilterChoice(
                    f"{self._filters[picked[0]].operation()} {picked[2]}",
                    list_url([chosen for chosen in active if chosen is not picked]),
                    chosen=True,
                )
                for picked in mine
                if picked is not shown
            ]
            if group.choices or group.field_name or group.chosen:
                sidebar.append(group)
        return sidebar

    def _list_arguments(self, view_args) -> dict[str, str]:
        """The list URL's arguments for ``view_args``, but the page: a form's hidden fields."""
        arguments = {
            "sort": view_args.sort,
            "desc": 1 if view_args.sort_desc else None,
            "search": view_args.search,
            **view_args.extra_args,
            **self._get_filters(view_args.filters),
        }
        if view_args.page_size and view_args.page_size != self.page_size:
            arguments["page_size"] = view_args.page_size
        return {name: str(value) for name, value in arguments.items() if value is not None}

    def history_url(self, id) -> str | None:
        """The audit log filtered to this object, for those who may read it."""
        key = parse_id(id) if id is not None else None
        if self.history_kind is None or key is None or not has_permission(AUDIT_READ):
            return None
        return url_for("audit.index_view", flt0_object_id=f"{self.history_kind}:{key}")

    def deleted_along(self, models) -> list[str]:
        """What deleting these rows deletes with them, in sentences; none by default."""
        return []

    def render(self, template, **kwargs):
        kwargs["viewer_zone"] = zone_label(user_timezone())
        if template == self.list_template and "data" in kwargs:
            view_args = self.list_view_args(kwargs)
            kwargs["sidebar_filters"] = self.sidebar_filters(view_args)
            if kwargs.get("actions"):
                matching = self.matching_count(view_args, kwargs["count"], len(kwargs["data"]))
                kwargs["matching_count"] = matching
                kwargs["select_across_max"] = SELECT_ACROSS_MAX
                kwargs["select_across_label"] = (
                    gettext("Select all %(count)s", count=format_decimal(matching))
                    if len(kwargs["data"]) < matching <= SELECT_ACROSS_MAX
                    else None
                )
        return super().render(template, **kwargs)

    @property
    def can_create(self) -> bool:
        return self.can_write

    @property
    def can_edit(self) -> bool:
        return self.can_write

    @property
    def can_delete(self) -> bool:
        return self.can_write
