"""Calendar periods in a time zone: table-driven cases and invariants."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbenefits.kit.periods import PeriodUnit, calendar_period

BERLIN = "Europe/Berlin"
DAY, WEEK, MONTH, YEAR = PeriodUnit.DAY, PeriodUnit.WEEK, PeriodUnit.MONTH, PeriodUnit.YEAR


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("unit", "instant", "zone", "start", "end"),
    [
        (DAY, utc(2026, 3, 10, 12), BERLIN, date(2026, 3, 10), date(2026, 3, 11)),
        # 23:30 UTC on Jan 31 is already Feb 1 in Berlin.
        (DAY, utc(2026, 1, 31, 23, 30), BERLIN, date(2026, 2, 1), date(2026, 2, 2)),
        (MONTH, utc(2026, 1, 31, 23, 30), BERLIN, date(2026, 2, 1), date(2026, 3, 1)),
        (MONTH, utc(2026, 1, 31, 23, 30), "UTC", date(2026, 1, 1), date(2026, 2, 1)),
        # ... and still Jan 31 in New York.
        (MONTH, utc(2026, 2, 1, 3), "America/New_York", date(2026, 1, 1), date(2026, 2, 1)),
        (MONTH, utc(2028, 2, 15), BERLIN, date(2028, 2, 1), date(2028, 3, 1)),
        (MONTH, utc(2026, 12, 31, 22, 59), BERLIN, date(2026, 12, 1), date(2027, 1, 1)),
        (YEAR, utc(2026, 12, 31, 23, 0), BERLIN, date(2027, 1, 1), date(2028, 1, 1)),
        (YEAR, utc(2026, 6, 1), "Pacific/Kiritimati", date(2026, 1, 1), date(2027, 1, 1)),
        # ISO weeks start on Monday; Sunday evening UTC is Monday in Tokyo.
        (WEEK, utc(2026, 11, 22, 12), BERLIN, date(2026, 11, 16), date(2026, 11, 23)),
        (WEEK, utc(2026, 11, 22, 16), "Asia/Tokyo", date(2026, 11, 23), date(2026, 11, 30)),
        (WEEK, utc(2026, 12, 30), BERLIN, date(2026, 12, 28), date(2027, 1, 4)),
    ],
)
def test_calendar_period(unit, instant, zone, start, end):
    period = calendar_period(unit, instant, zone)
    assert (period.start, period.end) == (start, end)
    assert period.contains(instant)


def test_period_instants_follow_daylight_saving():
    # Berlin leaves winter time on 2026-03-29: that day has 23 hours.
    period = calendar_period(DAY, utc(2026, 3, 29, 12), BERLIN)
    assert period.starts_at == utc(2026, 3, 28, 23)
    assert period.ends_at == utc(2026, 3, 29, 22)
    assert period.ends_at - period.starts_at == timedelta(hours=23)
    month = calendar_period(MONTH, utc(2026, 3, 15), BERLIN)
    assert month.starts_at == utc(2026, 2, 28, 23)
    assert month.ends_at == utc(2026, 3, 31, 22)
    assert month.last_day == date(2026, 3, 31)


def test_naive_instants_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar_period(DAY, datetime(2026, 1, 1), BERLIN)


ZONES = ["UTC", BERLIN, "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Apia"]


@given(
    instant=st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
    ),
    unit=st.sampled_from(list(PeriodUnit)),
    zone=st.sampled_from(ZONES),
)
def test_the_period_contains_the_instant_and_tiles_time(instant, unit, zone):
    period = calendar_period(unit, instant, zone)
    assert period.contains(instant)
    assert period.start <= instant.astimezone(ZoneInfo(zone)).date() < period.end
    following = calendar_period(unit, period.ends_at, zone)
    assert following.start == period.end
    assert calendar_period(unit, period.ends_at - timedelta(microseconds=1), zone) == period
