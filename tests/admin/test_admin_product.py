"""The admin panel's Django-admin-like extras and its labelled times, through HTTP: the sidebar
filters' links, "Select all N" and its bounds, the bulk delete's confirmation page, each
object's history in the audit log, and times named with their zone; bad input answers 4xx."""

from __future__ import annotations

import html as html_lib
import re
from datetime import datetime

import pytest
from sqlalchemy import func, select

from app.admin import base
from app.audit import recording as audit
from app.audit.models import AuditEntry
from app.extensions import db
from app.scheduling.models import Appointment
from tests.support.browser import page
from tests.support.factories import make_appointment, make_user
from tests.support.zones import UTC

LIST = "/admin/appointments/"
AUDIT = "/admin/audit/"
USERS = "/admin/users/"


@pytest.fixture
def owner(app):
    return make_user("olive@example.com", timezone="Europe/Berlin")


@pytest.fixture
def staff(browser):
    make_user("staff@example.com", roles=("staff",), timezone="America/New_York")
    browser.login("staff@example.com")
    return browser


@pytest.fixture
def admin(browser):
    make_user("admin@example.com", roles=("admin",), timezone="Europe/Berlin")
    browser.login("admin@example.com")
    return browser


def count_appointments() -> int:
    return db.session.scalar(select(func.count()).select_from(Appointment))


def sidebar(html: str) -> dict[str, list[tuple[str, str, bool]]]:
    """The sidebar's groups: their links as (label, URL, chosen)."""
    aside = re.search(r'<aside class="[^"]*sidebar-filters".*?</aside>', html, re.S).group(0)
    groups = {}
    for title, body in re.findall(
        r'<h3 class="h6 mb-1" id="[^"]+">(.*?)</h3>(.*?)</section>', aside, re.S
    ):
        groups[html_lib.unescape(title)] = [
            (html_lib.unescape(label), html_lib.unescape(url), bool(current))
            for url, current, label in re.findall(
                r'<a href="([^"]+)"( class="fw-semibold" aria-current="true")?>([^<]+)</a>', body
            )
        ]
    return groups


def titles(html: str) -> list[str]:
    return [
        html_lib.unescape(t)
        for t in re.findall(r'<td class="col-title">\s*(.*?)\s*</td>', html, re.S)
    ]


# --- Sidebar filters ---------------------------------------------------------------------------


def test_the_sidebar_offers_each_filters_choices_as_links(staff, owner):
    make_appointment(owner, title="Holiday", all_day=True)
    make_appointment(owner, title="Dentist")
    html = page(staff, LIST)
    groups = sidebar(html)
    assert [label for label, _url, _chosen in groups["All day"]] == ["All", "Yes", "No"]
    assert [label for label, _url, _chosen in groups["Repeats"]] == [
        "All",
        "Single appointment",
        "Series",
        "Changed occurrence",
    ]
    assert [label for label, _url, _chosen in groups["Start date"]] == [
        "Any date",
        "Today",
        "Past 7 days",
        "This month",
        "This year",
    ]
    assert groups["All day"][0][2]  # "All" is chosen
    yes_url = groups["All day"][1][1]
    chosen = page(staff, yes_url)
    assert titles(chosen) == ["Holiday"]
    assert sidebar(chosen)["All day"][1] == ("Yes", yes_url, True)
    assert not sidebar(chosen)["All day"][0][2]
    # A typed-in filter has a labelled box of its own.
    assert re.search(
        r'<label class="form-label small text-body-secondary mb-1" for="sidebar-filter-field-0">'
        r'<span class="visually-hidden">Owner e-mail</span> equals</label>',
        html,
    )
    assert 'id="sidebar-filter-field-0" name="flt0_0"' in html


def test_a_sidebar_link_keeps_the_search_and_the_other_filters(staff, owner):
    make_appointment(owner, title="Dentist", all_day=True)
    make_appointment(owner, title="Dentist, timed")
    make_appointment(owner, title="Holiday", all_day=True)
    html = page(staff, f"{LIST}?search=dentist")
    yes_url = {label: url for label, url, _ in sidebar(html)["All day"]}["Yes"]
    assert "search=dentist" in yes_url
    assert titles(page(staff, yes_url)) == ["Dentist"]


def test_a_filter_the_sidebar_cannot_show_is_listed_with_a_link_that_removes_it(staff, owner):
    make_appointment(owner, title="Dentist", start=datetime(2026, 5, 4, 8, tzinfo=UTC))
    # A range of days no preset names.
    html = page(staff, f"{LIST}?flt0_1=2026-05-02+to+2026-05-05")
    aside = re.search(r"<aside.*?</aside>", html, re.S).group(0)
    removed = re.search(r'between 2026-05-02 to 2026-05-05 <a href="([^"]+)">Remove</a>', aside)
    assert removed, aside
    assert "flt" not in html_lib.unescape(removed.group(1))


# --- Times and their zones ---------------------------------------------------------------------


def test_details_and_form_name_the_zone_and_the_owners_clock(staff, owner):
    dentist = make_appointment(
        owner,
        title="Dentist",
        start=datetime(2026, 5, 4, 8, tzinfo=UTC),
        end=datetime(2026, 5, 4, 9, tzinfo=UTC),
    )
    details = page(staff, f"{LIST}details/?id={dentist.id}")
    start = re.search(r'<td class="col-start">(.*?)</td>', details, re.S).group(1)
    assert "4:00:00\u202fAM Eastern Daylight Time" in start
    assert (
        "Owner: Monday, May 4, 2026, 10:00:00\u202fAM Central European Summer Time, Berlin time"
        in html_lib.unescape(start)
    )
    form = html_lib.unescape(page(staff, f"{LIST}edit/?id={dentist.id}"))
    owners_clock = "On the owner's clock (Berlin time): 5/4/26, 10:00\u202fAM."
    assert f"In your time zone: New York time. {owners_clock}" in form
    create = html_lib.unescape(page(staff, f"{LIST}new/"))
    assert "In your time zone: New York time." in create


def test_an_owner_on_the_staff_members_clock_gets_no_second_time(staff):
    newyorker = make_user("nina@example.com", timezone="America/New_York")
    make_appointment(newyorker, title="Call")
    assert "owner-time" not in page(staff, LIST)


def test_the_audit_log_shows_stored_times_on_the_readers_clock(staff, owner):
    entry = AuditEntry(
        action=audit.UPDATE,
        object_type="Appointment",
        object_id="1",
        object_repr="Dentist",
        changes={
            "start": ["2026-05-04T08:00:00+00:00", "2026-05-04T09:30:00+00:00"],
            "title": ["2026-05-04T08:00:00+00:00 is a title", "Dentist"],
        },
    )
    db.session.add(entry)
    db.session.commit()
    html = html_lib.unescape(page(staff, AUDIT))
    assert re.search(r"<del>5/4/26, 4:00\sAM</del>", html)
    assert re.search(r"<ins>5/4/26, 5:30\sAM</ins>", html)
    assert "2026-05-04T08:00:00+00:00 is a title" in html  # text that only starts like a time
    assert (
        '<span class="d-block small fw-normal text-body-secondary zone-note">New York time</span>'
        in html
    )


# --- History -----------------------------------------------------------------------------------


def test_history_shows_the_entries_about_one_object(staff, owner):
    dentist = make_appointment(owner, title="Dentist")
    for object_type, object_id, name in (
        ("Appointment", str(dentist.id), "about the dentist"),
        ("Series", str(dentist.id), "about the dentist as a series"),
        ("User", str(dentist.id), "about a user with the same number"),
        ("Appointment", str(dentist.id + 1), "about another appointment"),
    ):
        db.session.add(
            AuditEntry(
                action=audit.UPDATE, object_type=object_type, object_id=object_id, object_repr=name
            )
        )
    db.session.commit()
    edit = page(staff, f"{LIST}edit/?id={dentist.id}")
    link = re.search(r'<a class="nav-link" href="([^"]+)" id="object-history">History</a>', edit)
    assert (
        link
        and html_lib.unescape(link.group(1)) == f"{AUDIT}?flt0_object_id=Appointment:{dentist.id}"
    )
    history = page(staff, html_lib.unescape(link.group(1)))
    shown = re.findall(r'<td class="col-object_repr">\s*(.*?)\s*</td>', history, re.S)
    assert sorted(shown) == ["about the dentist", "about the dentist as a series"]
    # Beside the list, the filter is named, with a way back to the whole log.
    assert re.search(
        rf'is Appointment:{dentist.id} <a href="/admin/audit/\?page_size=25">Remove</a>', history
    )


@pytest.mark.parametrize(
    "value",
    [
        "Appointment",
        "Appointment:",
        "Appointment:x",
        "Nothing:1",
        "Appointment:99999999999",
        "appointment:1 OR 1=1",
    ],
)
def test_a_history_that_names_no_object_is_refused(staff, value):
    response = staff.get(AUDIT, query_string={"flt0_object_id": value})
    assert response.status_code == 400


def test_no_history_link_for_someone_who_may_not_read_the_audit_log(app, browser, owner):
    make_user("tr@example.com", roles=("translator",))
    # A role that may manage appointments but not read the audit log.
    from app.accounts.models import ADMIN_PANEL, APPOINTMENTS_MANAGE, Role

    role = Role(name="planner", permissions=[ADMIN_PANEL, APPOINTMENTS_MANAGE])
    db.session.add(role)
    planner = make_user("planner@example.com")
    planner.roles.append(role)
    db.session.commit()
    dentist = make_appointment(owner, title="Dentist")
    browser.login("planner@example.com")
    assert 'id="object-history"' not in page(browser, f"{LIST}edit/?id={dentist.id}")


# --- Bulk delete: asked on a page of its own ---------------------------------------------------


def test_a_user_delete_says_their_appointments_go_with_them(admin, owner):
    make_appointment(owner, title="One")
    make_appointment(owner, title="Two")
    response = admin.submit(
        f"{USERS}action/", {"action": "delete", "rowid": [str(owner.id)]}, form_url=USERS
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Delete this row?" in html
    assert "<li>olive@example.com" in html
    assert "2 appointments of theirs are deleted with them." in html
    assert count_appointments() == 2


def test_a_series_delete_says_its_changed_occurrences_go_with_it(staff, owner):
    series = make_appointment(
        owner,
        title="Yoga",
        rrule="FREQ=WEEKLY;COUNT=5",
        series_timezone="Europe/Berlin",
        start=datetime(2026, 5, 4, 7, tzinfo=UTC),
    )
    make_appointment(
        owner,
        title="Yoga, later",
        series_id=series.id,
        recurrence_id=datetime(2026, 5, 11, 7, tzinfo=UTC),
        start=datetime(2026, 5, 11, 9, tzinfo=UTC),
    )
    html = staff.submit(
        f"{LIST}action/", {"action": "delete", "rowid": [str(series.id)]}, form_url=LIST
    ).get_data(as_text=True)
    assert "1 changed occurrence of these series is deleted with them." in html


def test_the_confirmation_page_posts_the_same_rows_with_the_csrf_token(staff, owner):
    dentist = make_appointment(owner, title="Dentist")
    html = staff.submit(
        f"{LIST}action/", {"action": "delete", "rowid": [str(dentist.id)]}, form_url=LIST
    ).get_data(as_text=True)
    form = re.search(
        r'<form method="POST" action="/admin/appointments/action/".*?</form>', html, re.S
    ).group(0)
    assert 'name="csrf_token"' in form
    assert f'<input type="hidden" name="rowid" value="{dentist.id}">' in form
    assert '<input type="hidden" name="confirmed" value="1">' in form
    # Without the token the answer deletes nothing.
    response = staff.client.post(
        f"{LIST}action/",
        data={
            "action": "delete",
            "rowid": [str(dentist.id)],
            "confirmed": "1",
        },
    )
    assert response.status_code in (302, 400)
    assert count_appointments() == 1


def test_deleting_rows_that_are_gone_is_a_404(staff, owner):
    response = staff.submit(
        f"{LIST}action/", {"action": "delete", "rowid": ["12345"]}, form_url=LIST
    )
    assert response.status_code == 404


# --- Select all N ------------------------------------------------------------------------------


def test_select_all_is_offered_with_the_number_that_matches(staff, owner):
    for number in range(30):
        make_appointment(owner, title=f"Class {number}")
    make_appointment(owner, title="Dentist")
    html = page(staff, f"{LIST}?search=class")
    assert "Select all 30" in html
    assert 'action="/admin/appointments/action/?search=class"' in html
    assert "Select all" not in page(staff, f"{LIST}?search=dentist").replace(
        "Select all records", ""
    )


def test_select_all_across_pages_applies_the_action_to_every_matching_row(staff, owner):
    for number in range(30):
        make_appointment(owner, title=f"Class {number}")
    make_appointment(owner, title="Dentist")
    data = {"action": "delete", "select_across": "1", "rowid": ["1"]}
    asked = staff.submit(f"{LIST}action/?search=class", data, form_url=LIST)
    assert asked.status_code == 200
    named = re.findall(
        r'<input type="hidden" name="rowid" value="(\d+)">', asked.get_data(as_text=True)
    )
    assert len(named) == 30
    staff.submit(
        f"{LIST}action/", {"action": "delete", "confirmed": "1", "rowid": named}, form_url=LIST
    )
    assert db.session.scalars(select(Appointment.title)).all() == ["Dentist"]


def test_select_all_of_too_many_rows_is_refused(staff, owner, monkeypatch):
    monkeypatch.setattr(base, "SELECT_ACROSS_MAX", 3)
    for number in range(4):
        make_appointment(owner, title=f"Class {number}")
    html = page(staff, f"{LIST}?page_size=25")
    assert "Select all 4" not in html
    response = staff.submit(
        f"{LIST}action/", {"action": "delete", "select_across": "1"}, form_url=LIST
    )
    assert response.status_code == 400
    assert count_appointments() == 4


@pytest.mark.parametrize("query", ["?page=-1", "?flt0_1=9999-12-31+to+9999-12-31", "?flt0_2=7"])
def test_select_all_with_a_bad_list_address_is_refused(staff, owner, query):
    make_appointment(owner, title="Dentist")
    response = staff.submit(
        f"{LIST}action/{query}", {"action": "delete", "select_across": "1"}, form_url=LIST
    )
    assert response.status_code == 400
    assert count_appointments() == 1


def test_select_all_works_for_the_users_actions(admin):
    for number in range(3):
        make_user(f"user{number}@example.com")
    response = admin.submit(
        f"{USERS}action/?search=user",
        {
            "action": "deactivate",
            "select_across": "1",
        },
        form_url=USERS,
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "3 users were deactivated." in response.get_data(as_text=True)
