"""Repeat rules: what is refused before anything is kept, and occurrences on the series' clock."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from app.scheduling.recurrence import (
    COUNT_AND_UNTIL,
    COUNT_INVALID,
    INTERVAL_INVALID,
    MAX_RULE_LENGTH,
    RULE_EMPTY,
    RULE_INVALID,
    RULE_TOO_LONG,
    RULE_TOO_OFTEN,
    RULE_UNSUPPORTED,
    UNTIL_BEFORE_START,
    Occurrence,
    Recurrence,
    RuleError,
    expand,
    parse_rule,
    rebased,
)
from tests.support.zones import BERLIN, NEW_YORK, UTC

HOUR = timedelta(hours=1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def starts(recurrence: Recurrence, first: datetime, last: datetime) -> list[datetime]:
    return [occurrence.start for occurrence in expand(recurrence, first, last)]


# --- Refused before anything is kept ------------------------------------------------------------

START = datetime(2026, 5, 5, 9, tzinfo=BERLIN)  # a Tuesday


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=WEEKLY;INTERVAL=0", INTERVAL_INVALID),
        ("FREQ=WEEKLY;INTERVAL=-1", RULE_INVALID),
        ("FREQ=DAILY;COUNT=1001", COUNT_INVALID),
        ("FREQ=DAILY;COUNT=0", COUNT_INVALID),
        ("FREQ=DAILY;COUNT=3;UNTIL=20270101T000000Z", COUNT_AND_UNTIL),
        ("FREQ=DAILY;UNTIL=20260504T235959Z", UNTIL_BEFORE_START),
        ("FREQ=DAILY;UNTIL=20260504", UNTIL_BEFORE_START),
        ("FREQ=DAILY;UNTIL=yesterday", RULE_INVALID),
        ("FREQ=WEEKLY;BYDAY=XX", RULE_INVALID),
        ("FREQ=WEEKLY;BYDAY=TU;BYDAY=TH", RULE_INVALID),
        ("FREQ=WEEKLY;COLOUR=RED", RULE_INVALID),
        ("WEEKLY", RULE_INVALID),
        ("", RULE_INVALID),
        ("FREQ=FORTNIGHTLY", RULE_INVALID),
        ("FREQ=SECONDLY", RULE_TOO_OFTEN),
        ("FREQ=MINUTELY;INTERVAL=5", RULE_TOO_OFTEN),
        ("FREQ=HOURLY", RULE_TOO_OFTEN),
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", RULE_UNSUPPORTED),
        ("FREQ=WEEKLY;BYSETPOS=-1;BYDAY=MO,TU", RULE_UNSUPPORTED),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", RULE_EMPTY),
        ("FREQ=MONTHLY;BYMONTH=4,6;BYMONTHDAY=31", RULE_EMPTY),
        ("FREQ=WEEKLY;" + "BYDAY=" + ",".join(["MO"] * 400), RULE_TOO_LONG),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_a_rule_that_cannot_be_kept_is_refused_saying_why(rule, message):
    with pytest.raises(RuleError) as refused:
        parse_rule(rule, START)
    assert refused.value.message == message
    assert len(rule) <= MAX_RULE_LENGTH or message == RULE_TOO_LONG


def test_a_rule_whose_every_period_misses_its_day_is_refused():
    # Every twelve months from an April start is every April: never a 31st.
    april = datetime(2026, 4, 30, 9, tzinfo=BERLIN)
    with pytest.raises(RuleError) as refused:
        parse_rule("FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=31", april)
    assert refused.value.message == RULE_EMPTY
    assert parse_rule("FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=30", april)


def test_a_kept_rule_is_written_one_way():
    assert parse_rule("rrule:byday=tu,th;interval=2;freq=weekly", START) == (
        "FREQ=WEEKLY;BYDAY=TU,TH;INTERVAL=2"
    )


# --- Occurrences on the series' own clock -------------------------------------------------------


def test_a_weekly_meeting_in_berlin_stays_at_nine_across_both_clock_changes():
    monday = datetime(2026, 3, 23, 9, tzinfo=BERLIN)
    meeting = Recurrence(parse_rule("FREQ=WEEKLY", monday), monday, HOUR)
    found = starts(meeting, utc(2026, 3, 20), utc(2026, 10, 27))
    assert len(found) == 32  # 23 March to 26 October: 31 weeks on
    assert {moment.astimezone(BERLIN).time() for moment in found} == {START.time()}
    # 08:00 UTC before the spring change and after the autumn one, 07:00 UTC between.
    assert found[0] == utc(2026, 3, 23, 8) and found[1] == utc(2026, 3, 30, 7)
    assert found[-2] == utc(2026, 10, 19, 7) and found[-1] == utc(2026, 10, 26, 8)
    # A viewer in New York sees each at 03:00 or 04:00 (their changes come on other dates).
    assert found[1].astimezone(NEW_YORK).hour == 3 and found[-1].astimezone(NEW_YORK).hour == 4


def test_a_daily_call_in_new_york_stays_at_eight_across_both_of_its_clock_changes():
    first = datetime(2026, 3, 6, 8, tzinfo=NEW_YORK)
    call = Recurrence(parse_rule("FREQ=DAILY;UNTIL=20261103T235959Z", first), first, HOUR)
    found = starts(call, utc(2026, 3, 1), utc(2026, 12, 1))
    assert {moment.astimezone(NEW_YORK).hour for moment in found} == {8}
    # 13:00 UTC in winter, 12:00 from 8 March, 13:00 again from 1 November; the last on 3 Nov.
    assert found[:4] == [utc(2026, 3, 6, 13), utc(2026, 3, 7, 13), utc(2026, 3, 8, 12),
                         utc(2026, 3, 9, 12)]
    assert found[-3:] == [utc(2026, 11, 1, 13), utc(2026, 11, 2, 13), utc(2026, 11, 3, 13)]


def test_an_hour_long_occurrence_lasts_an_hour_on_the_night_the_clocks_go_back():
    late = Recurrence("FREQ=DAILY", datetime(2026, 10, 20, 2, 30, tzinfo=BERLIN), HOUR)
    (night,) = expand(late, utc(2026, 10, 25), utc(2026, 10, 25, 3))
    assert night.end - night.start == HOUR
    assert night.start == utc(2026, 10, 25, 0, 30)  # the first 02:30, still summer time


def test_a_time_the_clocks_skip_is_read_with_the_offset_before_the_gap():
    early = Recurrence("FREQ=DAILY", datetime(2026, 3, 20, 2, 30, tzinfo=BERLIN), HOUR)
    by_day = {o.start.astimezone(BERLIN).date(): o.start for o in expand(
        early, utc(2026, 3, 28), utc(2026, 3, 31)
    )}
    assert by_day[date(2026, 3, 29)] == utc(2026, 3, 29, 1, 30)  # 03:30 summer time
    assert by_day[date(2026, 3, 30)] == utc(2026, 3, 30, 0, 30)  # 02:30 again


def test_the_31st_of_each_month_skips_the_months_without_one():
    payday = Recurrence("FREQ=MONTHLY", datetime(2026, 1, 31, 12, tzinfo=UTC), HOUR)
    found = starts(payday, utc(2026, 1, 1), utc(2027, 1, 1))
    assert [moment.month for moment in found] == [1, 3, 5, 7, 8, 10, 12]
    assert {moment.day for moment in found} == {31}


def test_the_29th_of_february_comes_back_in_leap_years_only():
    leap = Recurrence("FREQ=YEARLY", datetime(2024, 2, 29, 10, tzinfo=UTC), HOUR)
    assert [moment.year for moment in starts(leap, utc(2024, 1, 1), utc(2037, 1, 1))] == [
        2024, 2028, 2032, 2036,
    ]


def test_the_last_friday_of_each_month():
    review = Recurrence(
        parse_rule("FREQ=MONTHLY;BYDAY=-1FR", START), datetime(2026, 1, 30, 15, tzinfo=BERLIN),
        HOUR,
    )
    days = [moment.astimezone(BERLIN).date() for moment in starts(
        review, utc(2026, 1, 1), utc(2026, 7, 1)
    )]
    assert days == [date(2026, 1, 30), date(2026, 2, 27), date(2026, 3, 27), date(2026, 4, 24),
                    date(2026, 5, 29), date(2026, 6, 26)]


def test_until_in_utc_ends_a_series_that_starts_on_a_local_clock():
    # 09:00 in New York is 13:00 UTC in summer: an UNTIL of 13:00 UTC keeps that day's.
    standup = Recurrence(
        parse_rule("FREQ=DAILY;UNTIL=20260610T130000Z", START),
        datetime(2026, 6, 8, 9, tzinfo=NEW_YORK), HOUR,
    )
    assert starts(standup, utc(2026, 6, 1), utc(2026, 7, 1)) == [
        utc(2026, 6, 8, 13), utc(2026, 6, 9, 13), utc(2026, 6, 10, 13),
    ]
    earlier = Recurrence("FREQ=DAILY;UNTIL=20260610T125959Z", standup.start, HOUR)
    assert len(starts(earlier, utc(2026, 6, 1), utc(2026, 7, 1))) == 2


def test_a_date_until_keeps_that_day():
    holiday = Recurrence(
        "FREQ=DAILY;UNTIL=20260807", datetime(2026, 8, 3, tzinfo=BERLIN), timedelta(0), True
    )
    assert len(expand(holiday, utc(2026, 8, 1), utc(2026, 9, 1))) == 5


def test_an_all_day_series_stays_on_whole_local_days_across_a_clock_change():
    weekend = Recurrence(
        "FREQ=WEEKLY", datetime(2026, 3, 21, tzinfo=BERLIN), timedelta(days=1), all_day=True
    )
    found = expand(weekend, utc(2026, 3, 20), utc(2026, 4, 5))
    assert [(o.start.astimezone(BERLIN), o.end.astimezone(BERLIN)) for o in found] == [
        (datetime(2026, 3, d, tzinfo=BERLIN), datetime(2026, 3, d + 1, tzinfo=BERLIN))
        for d in (21, 28)
    ] + [(datetime(2026, 4, 4, tzinfo=BERLIN), datetime(2026, 4, 5, tzinfo=BERLIN))]
    assert found[1].start == utc(2026, 3, 27, 23) and found[1].end == utc(2026, 3, 28, 23)


def test_an_occurrence_that_began_before_the_window_and_still_runs_is_in_it():
    night_shift = Recurrence("FREQ=DAILY", datetime(2026, 5, 1, 22, tzinfo=UTC), 10 * HOUR)
    assert expand(night_shift, utc(2026, 5, 3, 6), utc(2026, 5, 3, 7)) == [
        Occurrence(utc(2026, 5, 2, 22), utc(2026, 5, 3, 8))
    ]


def test_a_count_is_kept_however_the_window_falls():
    ten = Recurrence("FREQ=WEEKLY;COUNT=10", datetime(2016, 1, 5, 9, tzinfo=BERLIN), HOUR)
    assert len(expand(ten, utc(2000, 1, 1), utc(2030, 1, 1))) == 10
    assert expand(ten, utc(2016, 3, 10), utc(2030, 1, 1)) == []  # the tenth was on 8 March


def test_a_window_gets_the_limit_of_occurrences_at_most():
    daily = Recurrence("FREQ=DAILY", datetime(2026, 1, 1, 9, tzinfo=UTC), HOUR)
    assert len(expand(daily, utc(2026, 1, 1), utc(2036, 1, 1), limit=500)) == 500


def test_a_series_begun_ten_years_ago_costs_no_more_than_one_begun_this_week():
    old = Recurrence("FREQ=WEEKLY;BYDAY=TU,TH", datetime(2016, 5, 3, 9, tzinfo=BERLIN), HOUR)
    new = Recurrence(old.rule, datetime(2026, 4, 28, 9, tzinfo=BERLIN), HOUR)
    window = (utc(2026, 4, 27), utc(2026, 6, 8))
    assert starts(old, *window) == starts(new, *window)
    # Expanded from a start moved on by whole weeks: its first occurrence is at most two
    # intervals before the window, not ten years (which dateutil would walk week by week).
    earliest = window[0].astimezone(BERLIN).replace(tzinfo=None) - timedelta(days=1)
    moved = rebased(rrulestr(old.rule, dtstart=old.start.replace(tzinfo=None)), old, earliest)
    assert earliest - timedelta(weeks=2) <= next(iter(moved)) < earliest


def test_an_old_series_on_the_31st_or_the_29th_of_february_keeps_its_day():
    # Moving the start on by whole months or years lands on a shorter month (31 January + 1
    # month is 28 February): the day comes from the first start all the same.
    payday = Recurrence("FREQ=MONTHLY", datetime(2016, 1, 31, 12, tzinfo=UTC), HOUR)
    found = starts(payday, utc(2026, 4, 1), utc(2026, 9, 1))
    assert [(moment.month, moment.day) for moment in found] == [(5, 31), (7, 31), (8, 31)]
    leap = Recurrence("FREQ=YEARLY", datetime(2016, 2, 29, 10, tzinfo=UTC), HOUR)
    assert starts(leap, utc(2027, 1, 1), utc(2030, 1, 1)) == [utc(2028, 2, 29, 10)]


def test_a_moved_start_leaves_the_days_before_it_in_its_month_to_the_window():
    # From the 20th, on the 15th and the 20th: a start moved to 20 March would skip the 15th.
    twice = Recurrence(
        "FREQ=MONTHLY;BYMONTHDAY=15,20", datetime(2016, 1, 20, 9, tzinfo=UTC), HOUR
    )
    assert starts(twice, utc(2016, 3, 12), utc(2016, 4, 1)) == [
        utc(2016, 3, 15, 9), utc(2016, 3, 20, 9),
    ]


# --- Rebasing changes nothing: against dateutil from the first start ----------------------------

ZONES = [UTC, BERLIN, NEW_YORK, ZoneInfo("Australia/Lord_Howe"), ZoneInfo("Asia/Kathmandu")]
WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


@st.composite
def rules(draw) -> str:
    frequency = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={frequency}", f"INTERVAL={draw(st.integers(1, 5))}"]
    if frequency in ("WEEKLY", "DAILY") and draw(st.booleans()):
        days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=3, unique=True))
        parts.append("BYDAY=" + ",".join(days))
    if frequency == "MONTHLY":
        choice = draw(st.sampled_from(["start", "monthday", "nth"]))
        if choice == "monthday":
            parts.append(f"BYMONTHDAY={draw(st.sampled_from([1, 15, 28, 29, 30, 31, -1]))}")
        elif choice == "nth":
            parts.append(f"BYDAY={draw(st.sampled_from([1, 2, -1]))}{draw(st.sampled_from(WEEKDAYS))}")
    if frequency == "YEARLY" and draw(st.booleans()):
        parts.append(f"BYMONTH={draw(st.integers(1, 12))}")
    return ";".join(parts)


@settings(max_examples=150, deadline=None)
@given(
    rule=rules(),
    zone=st.sampled_from(ZONES),
    first=st.datetimes(datetime(2000, 1, 1), datetime(2025, 12, 31)),
    window_days=st.integers(1, 60),
    window_offset=st.integers(0, 12 * 365),
)
def test_expanding_from_a_later_start_gives_what_dateutil_gives_from_the_first(
    rule, zone, first, window_days, window_offset
):
    start = first.replace(second=0, microsecond=0, tzinfo=zone)
    series = Recurrence(rule, start, HOUR)
    window_start = start.astimezone(UTC) + timedelta(days=window_offset)
    window_end = window_start + timedelta(days=window_days)
    full = rrulestr(rule, dtstart=start.replace(tzinfo=None))
    expected = []
    for wall_clock in full.between(
        (window_start - HOUR).astimezone(zone).replace(tzinfo=None) - timedelta(days=1),
        window_end.astimezone(zone).replace(tzinfo=None) + timedelta(days=1),
        inc=True,
    ):
        begins = wall_clock.replace(tzinfo=zone).astimezone(UTC)
        if begins < window_end and begins + HOUR >= window_start:
            expected.append(begins)
    assert starts(series, window_start, window_end) == expected
