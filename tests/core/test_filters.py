"""The book's filters, formatted in the viewer's language and time zone."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from flask_babel import force_locale
from flask_login import login_user

from app.core.filters import (
    date_filter,
    datetime_filter,
    duration_filter,
    nl2br_filter,
    timespan_filter,
)
from tests.support.factories import make_user

MOMENT = datetime(2026, 3, 5, 17, 30, tzinfo=timezone.utc)


def test_datetime_follows_language(app):
    with app.test_request_context():
        assert datetime_filter(MOMENT) == "Mar 5, 2026, 5:30:00\u202fPM"
        with force_locale("de"):
            assert datetime_filter(MOMENT) == "05.03.2026, 17:30:00"
            assert date_filter(MOMENT, "full") == "Donnerstag, 5. März 2026"
        with force_locale("fr"):
            assert date_filter(MOMENT, "long") == "5 mars 2026"


def test_datetime_follows_the_users_time_zone(app):
    tokyo = make_user(timezone="Asia/Tokyo")
    with app.test_request_context():
        login_user(tokyo)
        # 17:30 UTC is 02:30 the next day in Tokyo.
        assert date_filter(MOMENT, "short") == "3/6/26"
        assert "2:30" in datetime_filter(MOMENT, "short")


@pytest.mark.parametrize(
    ("value", "english", "spanish"),
    [
        (timedelta(minutes=55), "55 minutes", "55 minutos"),
        (timedelta(hours=1), "1 hour", "1 hora"),
        (timedelta(hours=1, minutes=30), "1 hour and 30 minutes", "1 hora y 30 minutos"),
        (timedelta(days=2, hours=3), "2 days and 3 hours", "2 días y 3 horas"),
        (timedelta(0), "0 minutes", "0 minutos"),
    ],
)
def test_duration_is_spelled_out(app, value, english, spanish):
    with app.test_request_context():
        assert duration_filter(value) == english
        with force_locale("es"):
            assert duration_filter(value) == spanish


def test_nl2br_escapes_before_breaking_lines(app):
    result = nl2br_filter('<script>alert("x")</script>\r\nline two\nthree')
    assert str(result) == (
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;<br>\nline two<br>\nthree"
    )
    assert nl2br_filter(None) == ""


def plain_spaces(text: str) -> str:
    """CLDR uses thin and narrow no-break spaces; compare them as plain ones."""
    return re.sub(r"[\u2009\u202f\u00a0]", " ", text)


@pytest.mark.parametrize(
    ("locale", "same_day", "two_days", "all_day"),
    [
        (
            "en",
            "Mon, May 4, 2026, 10:00 – 11:30 AM",
            "Mon, May 4, 2026, 10:00 AM – Wed, May 6, 2026, 11:30 AM",
            "Mon, May 4 – Wed, May 6, 2026",
        ),
        (
            "de",
            "Mo., 4. Mai 2026, 10:00–11:30 Uhr",
            "Mo., 4. Mai 2026, 10:00 – Mi., 6. Mai 2026, 11:30",
            "Mo., 4. – Mi., 6. Mai 2026",
        ),
    ],
)
def test_timespan_is_compact_and_localised(app, locale, same_day, two_days, all_day):
    start = datetime(2026, 5, 4, 10, 0, tzinfo=timezone.utc)
    with app.test_request_context(), force_locale(locale):
        span = timespan_filter(start, start + timedelta(hours=1, minutes=30))
        assert plain_spaces(span) == same_day
        span = timespan_filter(start, start + timedelta(days=2, hours=1, minutes=30))
        assert plain_spaces(span) == two_days
        span = timespan_filter(start, start + timedelta(days=2), all_day=True)
        assert plain_spaces(span) == all_day
