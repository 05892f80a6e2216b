"""Calendar periods (day, ISO week, month, year) in a time zone: contingents count per period,
and "this month" must mean the studio's month, not the server's."""

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class PeriodUnit(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    YEAR = "YEAR"


@dataclass(frozen=True)
class Period:
    """Local calendar days ``[start, end)`` in ``zone``."""

    start: date
    end: date
    zone: ZoneInfo

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def starts_at(self) -> datetime:
        return local_midnight_utc(self.start, self.zone)

    @property
    def ends_at(self) -> datetime:
        return local_midnight_utc(self.end, self.zone)

    def contains(self, instant: datetime) -> bool:
        return self.starts_at <= instant < self.ends_at


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    if instant.tzinfo is None:
        raise ValueError("an instant must be timezone-aware")
    return instant.astimezone(zone).date()


def local_midnight_utc(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (or earlier), clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def calendar_period(unit: PeriodUnit, instant: datetime, zone: ZoneInfo | str) -> Period:
    """The calendar period of ``unit`` that contains ``instant``, as seen in ``zone``."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    today = local_date(instant, tz)
    if unit is PeriodUnit.DAY:
        return Period(today, today + timedelta(days=1), tz)
    if unit is PeriodUnit.WEEK:
        monday = today - timedelta(days=today.weekday())
        return Period(monday, monday + timedelta(days=7), tz)
    if unit is PeriodUnit.MONTH:
        first = today.replace(day=1)
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return Period(first, following, tz)
    return Period(date(today.year, 1, 1), date(today.year + 1, 1, 1), tz)
