"""ISO-8601 durations in day and time units only (``P365D``, ``P3DT12H30M5S``).

Years, months and weeks are refused: a "month" from January 31st has no single length, and a
contract's validity must not depend on the calendar it is counted in. A day is 24 hours.
Whole seconds only; a duration is answered in its normal form (``PT24H`` as ``P1D``), not as
written. Parsing and rendering are a few lines, so no library is needed (pydantic's
own timedelta format renders 365 days as ``P1Y``, which is the ambiguity this type refuses).
"""

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_DAY_TIME = re.compile(r"^P(?:(\d{1,6})D)?(?:T(?:(\d{1,8})H)?(?:(\d{1,8})M)?(?:(\d{1,10})S)?)?$")
_CALENDAR_UNITS = re.compile(r"^P[^T]*[YMW]")


def parse_day_time_duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError("must be an ISO-8601 duration such as P365D or P3DT12H30M5S")
    text = value.strip().upper()
    if _CALENDAR_UNITS.match(text):
        raise ValueError(
            "years, months and weeks are ambiguous: use days and time units only "
            "(P365D, P3DT12H30M5S)"
        )
    match = _DAY_TIME.match(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise ValueError("must be an ISO-8601 duration such as P365D or P3DT12H30M5S")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    duration = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if duration <= timedelta(0):
        raise ValueError("must be longer than zero")
    return duration


def format_day_time_duration(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3_600)
    minutes, seconds = divmod(seconds, 60)
    time = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    return f"P{f'{days}D' if days else ''}{f'T{time}' if time else ''}"


DayTimeDuration = Annotated[
    timedelta,
    BeforeValidator(parse_day_time_duration),
    PlainSerializer(format_day_time_duration, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _DAY_TIME.pattern,
            "examples": ["P365D", "P3DT12H30M5S"],
            "description": (
                "ISO-8601 duration in days and time units (no Y, M or W), answered in its normal "
                "form: whole days, then the hours, minutes and seconds under a day (PT24H is "
                "answered P1D, PT90M PT1H30M)."
            ),
        }
    ),
]
