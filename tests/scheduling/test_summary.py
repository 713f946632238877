"""Repeat rules in words, in the viewer's language: what the phrases say, and what they leave
to the rule's own text."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask_babel import force_locale

from app.scheduling.summary import describe
from tests.support.zones import BERLIN, NEW_YORK

# The fourth and last Thursday of May 2026.
START = datetime(2026, 5, 28, 9, 0, tzinfo=BERLIN)


@pytest.fixture
def request_context(app):
    with app.test_request_context():
        yield


@pytest.mark.usefixtures("request_context")
@pytest.mark.parametrize(
    ("rule", "summary"),
    [
        ("FREQ=DAILY", "Every day"),
        ("FREQ=DAILY;INTERVAL=3", "Every 3 days"),
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;COUNT=10",
            "Every 2 weeks on Tuesday and Thursday, 10 times",
        ),
        ("FREQ=WEEKLY", "Every week on Thursday"),
        ("FREQ=WEEKLY;BYDAY=TH,TU;WKST=SU", "Every week on Tuesday and Thursday"),
        ("RRULE:freq=weekly;byday=mo", "Every week on Monday"),
        (
            "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
            "Every week on Monday, Tuesday, Wednesday, Thursday, and Friday",
        ),
        ("FREQ=MONTHLY", "Every month on day 28"),
        ("FREQ=MONTHLY;BYMONTHDAY=28", "Every month on day 28"),
        ("FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=15,1", "Every 6 months on days 1 and 15"),
        ("FREQ=YEARLY", "Every year on May 28"),
        ("FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24", "Every year on December 24"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "Every year on February 29"),
        ("FREQ=YEARLY;BYMONTH=12", "Every year on December 28"),
        ("FREQ=YEARLY;INTERVAL=4", "Every 4 years on May 28"),
        ("FREQ=DAILY;COUNT=1", "Every day, 1 time"),
    ],
)
def test_a_rule_is_said_in_words(rule, summary):
    assert describe(rule, START, all_day=False) == summary


@pytest.mark.usefixtures("request_context")
@pytest.mark.parametrize(
    ("rule", "summary"),
    [
        ("FREQ=MONTHLY;BYDAY=1TH", "Every month on the first Thursday"),
        ("FREQ=MONTHLY;BYDAY=+2TH", "Every month on the second Thursday"),
        ("FREQ=MONTHLY;BYDAY=3TH", "Every month on the third Thursday"),
        ("FREQ=MONTHLY;BYDAY=4TH", "Every month on the fourth Thursday"),
        ("FREQ=MONTHLY;BYDAY=5TH", "Every month on the fifth Thursday"),
        ("FREQ=MONTHLY;BYDAY=-1TH", "Every month on the last Thursday"),
        ("FREQ=MONTHLY;BYDAY=TH;BYSETPOS=-1", "Every month on the last Thursday"),
        (
            "FREQ=MONTHLY;INTERVAL=2;BYDAY=1MO,1WE",
            "Every 2 months on the first Monday and Wednesday",
        ),
    ],
)
def test_a_monthly_rule_names_its_weekday_by_its_ordinal(rule, summary):
    assert describe(rule, START, all_day=False) == summary


@pytest.mark.usefixtures("request_context")
@pytest.mark.parametrize(
    ("rule", "start", "summary"),
    [
        # 23:59:59 in New York on December 31 is already January 1 in UTC.
        (
            "FREQ=DAILY;UNTIL=20270101T045959Z",
            datetime(2026, 5, 4, 9, 0, tzinfo=NEW_YORK),
            "Every day, until December 31, 2026",
        ),
        # And 23:30 UTC on December 31 is January 1 in Berlin.
        ("FREQ=DAILY;UNTIL=20261231T233000Z", START, "Every day, until January 1, 2027"),
        (
            "FREQ=DAILY;UNTIL=20261231",
            datetime(2026, 5, 4, tzinfo=NEW_YORK),
            "Every day, until December 31, 2026",
        ),
        (
            "FREQ=WEEKLY;BYDAY=FR;UNTIL=20261231T120000",
            START,
            "Every week on Friday, until December 31, 2026",
        ),
    ],
)
def test_until_is_the_last_day_on_the_series_clock(rule, start, summary):
    assert describe(rule, start, all_day=False) == summary


@pytest.mark.usefixtures("request_context")
@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=YEARLY;BYYEARDAY=100",
        "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO",
        "FREQ=DAILY;BYHOUR=9,17",
        "FREQ=MONTHLY;BYDAY=1MO,-1FR",
        "FREQ=MONTHLY;BYDAY=TU",  # every Tuesday of the month
        "FREQ=MONTHLY;BYDAY=-2TH",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",  # the last working day
        "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13",
        "FREQ=MONTHLY;BYMONTH=1,7",
        "FREQ=WEEKLY;BYDAY=1MO",
        "FREQ=DAILY;INTERVAL=2;BYDAY=MO",
        "FREQ=YEARLY;BYMONTHDAY=15",  # the 15th of every month
        "FREQ=YEARLY;BYDAY=4TH;BYMONTH=11",
        "FREQ=HOURLY",
        "not a rule",
    ],
)
def test_what_the_phrases_cannot_say_is_shown_as_written(rule):
    assert describe(rule, START, all_day=False) == f"Repeats by a custom rule ({rule})"


def test_babel_names_days_and_dates_in_the_viewers_language(app):
    rule = "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;UNTIL=20261231T225959Z"
    with app.test_request_context(), force_locale("de"):
        summary = describe(rule, START, all_day=False)
        week_from_monday = describe("FREQ=WEEKLY;BYDAY=SU,MO", START, all_day=False)
    assert "Dienstag und Donnerstag" in summary
    assert "31. Dezember 2026" in summary
    assert "Montag und Sonntag" in week_from_monday


def test_the_week_starts_where_the_language_starts_it(app):
    with app.test_request_context(), force_locale("en_US"):
        assert describe("FREQ=WEEKLY;BYDAY=MO,SU", START, all_day=True) == (
            "Every week on Sunday and Monday"
        )
