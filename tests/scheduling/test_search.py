"""Search across one's own appointments: title, location and description, results by date."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from tests.support.browser import page
from tests.support.factories import make_appointment, make_user
from tests.support.zones import BERLIN, UTC


def found_titles(html: str) -> list[str]:
    return re.findall(r'<li class="list-group-item">\s*<a href="/appointments/\d+/">([^<]*)</a>', html)


def day_headings(html: str) -> list[str]:
    return re.findall(r'<h2 class="h6 mt-4 text-body-secondary"><time datetime="([\d-]+)">', html)


def test_search_finds_words_in_title_location_and_description_by_date(logged_in, user):
    make_appointment(user, title="Dentist", start=datetime(2026, 5, 4, 8, tzinfo=UTC))
    make_appointment(user, title="Lunch", location="Dentist's café",
                     start=datetime(2026, 5, 2, 11, tzinfo=UTC))
    make_appointment(user, title="Call", description="Ask the DENTIST about the bill",
                     start=datetime(2026, 5, 3, 23, 30, tzinfo=UTC))  # the 4th in Berlin
    make_appointment(user, title="Yoga", start=datetime(2026, 5, 1, 8, tzinfo=UTC))
    make_appointment(make_user(), title="Someone else's dentist")
    html = page(logged_in, "/search/?q=dentist")
    assert found_titles(html) == ["Lunch", "Call", "Dentist"]
    assert day_headings(html) == ["2026-05-02", "2026-05-04"]  # on the user's clock
    assert "3 appointments found." in html


def test_every_word_must_be_found_somewhere(logged_in, user):
    make_appointment(user, title="Dentist", location="Main street")
    make_appointment(user, title="Dentist", location="Harbour")
    assert len(found_titles(page(logged_in, "/search/?q=dentist+main"))) == 1


@pytest.mark.parametrize("query", ["100%", "a_b"])
def test_wildcards_are_plain_characters(logged_in, user, query):
    make_appointment(user, title="Discount 100% off, a_b")
    make_appointment(user, title="Discount 1000 off, axb")
    assert found_titles(page(logged_in, f"/search/?q={query.replace('%', '%25')}")) == [
        "Discount 100% off, a_b"
    ]


def test_nothing_found_says_so_and_titles_are_escaped(logged_in, user):
    make_appointment(user, title="<b>Bold</b> plan")
    html = page(logged_in, "/search/?q=<b>")
    assert "&lt;b&gt;Bold&lt;/b&gt; plan" in html and "<b>Bold</b>" not in html
    nothing = page(logged_in, "/search/?q=<script>")
    assert "No appointment holds “&lt;script&gt;”." in nothing


def test_an_empty_search_shows_only_the_form(logged_in, user):
    make_appointment(user, title="Dentist")
    html = page(logged_in, "/search/?q=+++")
    assert found_titles(html) == [] and "found." not in html and 'role="search"' in html


def test_a_search_too_long_is_refused_next_to_the_field(logged_in, user):
    response = logged_in.get("/search/?q=" + "x" * 101)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    errors = html.split('id="q-errors"', 1)[1].split("</div>", 2)[0]
    assert "cannot be longer than 100 characters" in errors


def test_search_pages_through_many_results(logged_in, user, app):
    for day in range(1, 26):
        make_appointment(user, title=f"Standup {day}", start=datetime(2026, 3, day, 9, tzinfo=BERLIN))
    first = page(logged_in, "/search/?q=standup")
    assert len(found_titles(first)) == app.config["APPOINTMENTS_PER_PAGE"]
    second = page(logged_in, "/search/?q=standup&page=2")
    assert found_titles(second) == [f"Standup {day}" for day in range(21, 26)]
    assert logged_in.get("/search/?q=standup&page=-1").status_code == 404


def test_search_needs_a_login(client):
    assert client.get("/search/?q=x").status_code in (302, 401)
