"""Term arithmetic, in one place: term ends, extensions and notice periods.

Periods follow the civil-law rule contracts use (BGB §§ 187(2), 188(2)-(3)): a term that starts
on a day includes that day and ends on the day before the day with the same number in the last
month; when the last month has no such day, the term ends on that month's last day. So a month
from Jan 15 ends Feb 14, a month from Jan 31 ends Feb 28 (29 in leap years), and a year from
Feb 29 ends Feb 28.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from openbenefits.kit.periods import add_months


class TermUnit(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    YEAR = "YEAR"


@dataclass(frozen=True)
class Period:
    value: int
    unit: TermUnit

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError("a period is never negative")


def _months(period: Period) -> int:
    return period.value * (12 if period.unit is TermUnit.YEAR else 1)


def term_end(start: date, term: Period) -> date:
    """The last day of a term of ``term`` that begins on ``start`` (inclusive)."""
    if term.value == 0:
        raise ValueError("a term has at least one unit")
    if term.unit is TermUnit.DAY:
        return start + timedelta(days=term.value - 1)
    if term.unit is TermUnit.WEEK:
        return start + timedelta(weeks=term.value) - timedelta(days=1)
    # A month without the start's day ends the term on its last day (to which add_months clamps).
    same_day = add_months(start, _months(term))
    return same_day if same_day.day < start.day else same_day - timedelta(days=1)


def notice_deadline(end: date, notice: Period) -> date:
    """The last day a cancellation may be received for the contract to end on ``end``: the notice
    period, counted back from the end, must fit in whole (a month's notice before Dec 31 is
    Nov 30; before Mar 31, Feb 28)."""
    if notice.value == 0:
        return end
    following = end + timedelta(days=1)
    if notice.unit is TermUnit.DAY:
        return following - timedelta(days=notice.value + 1)
    if notice.unit is TermUnit.WEEK:
        return following - timedelta(weeks=notice.value, days=1)
    return add_months(following, -_months(notice)) - timedelta(days=1)


# Within this many terms a chain of month terms starting on a day past the 28th either meets a
# month too short for that day or never will: month lengths repeat every 4 years (48 months), and
# the century years that skip a leap day come within 25 steps of a leap day's 4-year stride.
_CLAMP_SEARCH = 48


def current_term(
    start: date, term: Period, extension: Period | None, today: date
) -> tuple[date, date]:
    """The first and last day of the term running on ``today``: the first term, then extension
    after extension while the contract is not cancelled. Before ``start``, the first term.

    Found in constant time whatever the contract's age (it runs on every benefit check): the
    extensions are counted, not walked."""
    end = term_end(start, term)
    if extension is None or end >= today:
        return start, end
    first = end + timedelta(days=1)
    if extension.unit in (TermUnit.DAY, TermUnit.WEEK):
        days = extension.value * (7 if extension.unit is TermUnit.WEEK else 1)
        first += timedelta(days=(today - first).days // days * days)
        return first, first + timedelta(days=days - 1)
    # Month terms keep their first day of the month until a month too short for it ends one on
    # its last day; from then on they start on the 1st, which every month has.
    for _ in range(_CLAMP_SEARCH):
        if first.day <= 28:
            break
        end = term_end(first, extension)
        if end >= today:
            return first, end
        first = end + timedelta(days=1)
    months = _months(extension)
    elapsed = (today.year - first.year) * 12 + today.month - first.month
    terms = elapsed // months
    if add_months(first, terms * months) > today:
        terms -= 1
    first = add_months(first, terms * months)
    return first, term_end(first, extension)


def current_term_end(start: date, term: Period, extension: Period | None, today: date) -> date:
    return current_term(start, term, extension, today)[1]


def runs_on(
    start: date, term: Period, extension: Period | None, ends_on: date | None, today: date
) -> bool:
    """Whether a contract runs on ``today``: from its start to ``ends_on`` once cancelled, else
    to the end of its current term (term after term while it extends)."""
    end = ends_on if ends_on is not None else current_term_end(start, term, extension, today)
    return start <= today <= end


def earliest_end(
    start: date,
    term: Period,
    extension: Period | None,
    notice: Period,
    received: date,
) -> date:
    """The earliest day a contract can end if cancelled on ``received``: the first term end whose
    notice deadline is not yet past. Without an extension the contract ends with its first term
    whatever the notice."""
    end = term_end(start, term)
    while extension is not None and notice_deadline(end, notice) < received:
        end = term_end(end + timedelta(days=1), extension)
    return end
