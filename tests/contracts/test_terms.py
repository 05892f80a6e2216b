"""Term arithmetic, table-driven: month ends, leap years, extensions, notice periods."""

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbenefits.contracts.terms import (
    Period,
    TermUnit,
    current_term,
    current_term_end,
    earliest_end,
    notice_deadline,
    term_end,
)

D, W, M, Y = TermUnit.DAY, TermUnit.WEEK, TermUnit.MONTH, TermUnit.YEAR


@pytest.mark.parametrize(
    ("start", "value", "unit", "end"),
    [
        (date(2026, 1, 1), 1, D, date(2026, 1, 1)),
        (date(2026, 1, 1), 30, D, date(2026, 1, 30)),
        (date(2026, 12, 31), 2, D, date(2027, 1, 1)),
        (date(2026, 1, 1), 1, W, date(2026, 1, 7)),
        (date(2026, 2, 25), 1, W, date(2026, 3, 3)),
        (date(2028, 2, 25), 1, W, date(2028, 3, 2)),  # leap year
        (date(2026, 1, 1), 1, M, date(2026, 1, 31)),
        (date(2026, 1, 15), 1, M, date(2026, 2, 14)),
        (date(2026, 1, 28), 1, M, date(2026, 2, 27)),
        (date(2026, 1, 29), 1, M, date(2026, 2, 28)),  # Feb 29 missing
        (date(2026, 1, 30), 1, M, date(2026, 2, 28)),
        (date(2026, 1, 31), 1, M, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, M, date(2028, 2, 29)),  # leap year
        (date(2028, 1, 29), 1, M, date(2028, 2, 28)),
        (date(2026, 3, 31), 1, M, date(2026, 4, 30)),
        (date(2026, 8, 31), 6, M, date(2027, 2, 28)),
        (date(2026, 11, 15), 3, M, date(2027, 2, 14)),
        (date(2026, 1, 1), 12, M, date(2026, 12, 31)),
        (date(2026, 1, 1), 24, M, date(2027, 12, 31)),
        (date(2026, 1, 1), 1, Y, date(2026, 12, 31)),
        (date(2026, 7, 1), 1, Y, date(2027, 6, 30)),
        (date(2028, 2, 29), 1, Y, date(2029, 2, 28)),
        (date(2028, 2, 29), 4, Y, date(2032, 2, 28)),
        (date(2027, 3, 1), 1, Y, date(2028, 2, 29)),
    ],
)
def test_term_end(start, value, unit, end):
    assert term_end(start, Period(value, unit)) == end


@pytest.mark.parametrize(
    ("end", "value", "unit", "deadline"),
    [
        (date(2026, 12, 31), 1, M, date(2026, 11, 30)),
        (date(2026, 12, 31), 3, M, date(2026, 9, 30)),
        (date(2026, 6, 30), 3, M, date(2026, 3, 31)),
        (date(2026, 3, 31), 1, M, date(2026, 2, 28)),
        (date(2028, 3, 31), 1, M, date(2028, 2, 29)),
        (date(2026, 3, 30), 1, M, date(2026, 2, 27)),
        (date(2026, 12, 31), 14, D, date(2026, 12, 17)),
        (date(2026, 12, 31), 2, W, date(2026, 12, 17)),
        (date(2026, 12, 31), 1, Y, date(2025, 12, 31)),
        (date(2026, 12, 31), 0, M, date(2026, 12, 31)),
    ],
)
def test_notice_deadline(end, value, unit, deadline):
    assert notice_deadline(end, Period(value, unit)) == deadline


TWELVE_MONTHS, ONE_MONTH, THREE_MONTHS = Period(12, M), Period(1, M), Period(3, M)


@pytest.mark.parametrize(
    ("today", "extension", "end"),
    [
        (date(2025, 12, 1), ONE_MONTH, date(2026, 12, 31)),  # before the start
        (date(2026, 6, 1), ONE_MONTH, date(2026, 12, 31)),
        (date(2026, 12, 31), ONE_MONTH, date(2026, 12, 31)),
        (date(2027, 1, 1), ONE_MONTH, date(2027, 1, 31)),
        (date(2027, 3, 15), ONE_MONTH, date(2027, 3, 31)),
        (date(2027, 3, 15), TWELVE_MONTHS, date(2027, 12, 31)),
        (date(2027, 3, 15), None, date(2026, 12, 31)),  # no extension: the contract ran out
    ],
)
def test_current_term_end_follows_extensions(today, extension, end):
    assert current_term_end(date(2026, 1, 1), TWELVE_MONTHS, extension, today) == end


@pytest.mark.parametrize(
    ("received", "extension", "end"),
    [
        (date(2026, 9, 30), ONE_MONTH, date(2026, 12, 31)),  # just in time
        (date(2026, 10, 1), ONE_MONTH, date(2027, 1, 31)),  # one day late: one extension more
        (date(2027, 1, 5), ONE_MONTH, date(2027, 4, 30)),
        (date(2026, 10, 1), TWELVE_MONTHS, date(2027, 12, 31)),
        (date(2026, 10, 1), None, date(2026, 12, 31)),
    ],
)
def test_earliest_end_respects_the_notice_period(received, extension, end):
    assert earliest_end(date(2026, 1, 1), TWELVE_MONTHS, extension, THREE_MONTHS, received) == end


def test_periods_are_never_negative():
    with pytest.raises(ValueError, match="never negative"):
        Period(-1, M)
    with pytest.raises(ValueError, match="at least one"):
        term_end(date(2026, 1, 1), Period(0, M))


@given(
    start=st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)),
    value=st.integers(min_value=1, max_value=36),
    unit=st.sampled_from(list(TermUnit)),
)
def test_consecutive_terms_tile_the_calendar(start, value, unit):
    term = Period(value, unit)
    end = term_end(start, term)
    assert end >= start
    following = term_end(end + timedelta(days=1), term)
    assert following > end
    if unit in (M, Y):
        # A month-based term is never shorter than 28 days per month, nor longer than 31.
        months = value * (12 if unit is Y else 1)
        assert 28 * months - 3 <= (end - start).days + 1 <= 31 * months


def _walked(start: date, term: Period, extension: Period | None, today: date) -> tuple[date, date]:
    """The running term found the obvious way: extension after extension."""
    first, end = start, term_end(start, term)
    while extension is not None and end < today:
        first = end + timedelta(days=1)
        end = term_end(first, extension)
    return first, end


_PERIODS = st.builds(
    Period, value=st.integers(min_value=1, max_value=24), unit=st.sampled_from(list(TermUnit))
)


@given(
    start=st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31)),
    term=_PERIODS,
    extension=st.none() | _PERIODS,
    # Often a start on the 29th to the 31st, whose month terms are cut short by some months.
    late_start=st.integers(min_value=0, max_value=3),
    days_later=st.integers(min_value=-30, max_value=40 * 366),
)
def test_the_current_term_is_counted_as_walking_the_extensions_would_find_it(
    start, term, extension, late_start, days_later
):
    if late_start:
        start = start.replace(
            day=min(28 + late_start, calendar.monthrange(start.year, start.month)[1])
        )
    today = start + timedelta(days=days_later)
    assert current_term(start, term, extension, today) == _walked(start, term, extension, today)


@pytest.mark.parametrize(
    ("start", "term", "extension", "today", "running"),
    [
        # A month from Jan 31 ends on Feb 28; every later one starts on the 1st.
        (
            date(2025, 1, 31),
            ONE_MONTH,
            ONE_MONTH,
            date(2026, 3, 15),
            (date(2026, 3, 1), date(2026, 3, 31)),
        ),
        # A year from Feb 29 ends on Feb 28; the next starts on Mar 1.
        (
            date(2024, 2, 29),
            Period(1, Y),
            Period(1, Y),
            date(2030, 6, 1),
            (date(2030, 3, 1), date(2031, 2, 28)),
        ),
        # Weekly extensions, decades on: counted, not walked.
        (
            date(2000, 1, 3),
            Period(1, W),
            Period(1, W),
            date(2040, 1, 4),
            (date(2040, 1, 2), date(2040, 1, 8)),
        ),
    ],
)
def test_long_runs_of_extensions(start, term, extension, today, running):
    assert current_term(start, term, extension, today) == running
    assert _walked(start, term, extension, today) == running
