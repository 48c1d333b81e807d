"""Slot value conversion: the ``convert=`` shorthands of Flask-Ask.

Each converter takes the raw slot string Alexa sent and returns a Python value, or raises
``ValueError`` with a message a person can read; the caller records the exception in
``convert_errors``. No converter returns ``None``: "could not convert" is always an error, so a
skill never mistakes a failed conversion for an unfilled slot.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable
from typing import Any

import aniso8601

__all__ = [
    "CONVERTERS",
    "converter_for",
    "to_date",
    "to_float",
    "to_int",
    "to_time",
    "to_timedelta",
]

# Meteorological seasons (northern hemisphere): each starts on the 1st of a month, so a season
# maps to one unambiguous day. Winter is the one starting in December of the year Alexa names.
SEASON_START_MONTH = {"WI": 12, "SP": 3, "SU": 6, "FA": 9}

# Flask-Ask's values for the parts of the day, kept so ported skills behave the same.
TIME_PERIODS = {
    "MO": datetime.time(5, 0),
    "AF": datetime.time(12, 0),
    "EV": datetime.time(17, 0),
    "NI": datetime.time(21, 0),
    "AM": datetime.time(0, 0),
    "PM": datetime.time(12, 0),
}

_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_WEEK = re.compile(r"(\d{4})-W(\d{1,2})")
_WEEKEND = re.compile(r"(\d{4})-W(\d{1,2})-WE")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_YEAR = re.compile(r"\d{4}")
_DECADE = re.compile(r"(\d{3})X")
_SEASON = re.compile(r"(\d{4})-(WI|SP|SU|FA)")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _text(value: Any, kind: str) -> str:
    # Alexa sends every slot value as a string; anything else (often None for an unfilled
    # slot) is reported as a conversion error rather than a TypeError escaping the caller.
    if not isinstance(value, str):
        raise ValueError(f"cannot convert {value!r} to {kind}: expected a string")
    text = value.strip()
    if not text:
        raise ValueError(f"cannot convert an empty value to {kind}")
    return text


def to_date(value: str) -> datetime.date:
    """Convert an AMAZON.DATE value to the first day of the period it names.

    - ``2015-11-25``: that day.
    - ``2015-W48``: the Monday of ISO week 48; ``2015-W48-WE``: the Saturday of that week.
    - ``2015-11``: the 1st of the month; ``2015``: January 1st; ``201X`` (a decade): 2010-01-01.
    - ``2017-WI`` / ``-SP`` / ``-SU`` / ``-FA``: meteorological seasons in the northern
      hemisphere: December 1st, March 1st, June 1st, September 1st of the given year.
    - ``PRESENT_REF`` ("now"): today, in the server's local time.
    """
    text = _text(value, "a date").upper()
    try:
        if text == "PRESENT_REF":
            return datetime.date.today()
        if m := _DAY.fullmatch(text):
            return datetime.date(int(m[1]), int(m[2]), int(m[3]))
        if m := _WEEKEND.fullmatch(text):
            return datetime.date.fromisocalendar(int(m[1]), int(m[2]), 6)
        if m := _WEEK.fullmatch(text):
            return datetime.date.fromisocalendar(int(m[1]), int(m[2]), 1)
        if m := _SEASON.fullmatch(text):
            return datetime.date(int(m[1]), SEASON_START_MONTH[m[2]], 1)
        if m := _MONTH.fullmatch(text):
            return datetime.date(int(m[1]), int(m[2]), 1)
        if _YEAR.fullmatch(text):
            return datetime.date(int(text), 1, 1)
        if m := _DECADE.fullmatch(text):
            return datetime.date(int(m[1]) * 10, 1, 1)
    except ValueError as exc:
        # Right shape, impossible value (month 13, week 54, year 0).
        raise ValueError(f"cannot convert {value!r} to a date: {exc}") from exc
    raise ValueError(f"cannot convert {value!r} to a date: not an AMAZON.DATE format")


def to_time(value: str) -> datetime.time:
    """Convert an AMAZON.TIME value: ``HH:MM`` or ``HH:MM:SS``, or a part of the day.

    Parts of the day use Flask-Ask's times: ``MO`` 05:00, ``AF`` 12:00, ``EV`` 17:00,
    ``NI`` 21:00; ``AM`` is 00:00 and ``PM`` 12:00 (the start of each half of the day).
    """
    text = _text(value, "a time").upper()
    if text in TIME_PERIODS:
        return TIME_PERIODS[text]
    m = _TIME.fullmatch(text)
    if not m:
        raise ValueError(f"cannot convert {value!r} to a time: not an AMAZON.TIME format")
    try:
        return datetime.time(int(m[1]), int(m[2]), int(m[3] or 0))
    except ValueError as exc:
        raise ValueError(f"cannot convert {value!r} to a time: {exc}") from exc


def to_timedelta(value: str) -> datetime.timedelta:
    """Convert an AMAZON.DURATION value (ISO 8601, e.g. ``PT1H30M``, ``P2D``, ``P1W``).

    A timedelta has no calendar, so a year counts as 365 days and a month as 30 days.
    """
    text = _text(value, "a duration").upper()
    try:
        result = aniso8601.parse_duration(text)
    except (ValueError, ArithmeticError, NotImplementedError) as exc:
        # aniso8601's ISOFormatError is a ValueError; overflow and unsupported forms are not.
        raise ValueError(f"cannot convert {value!r} to a duration: {exc}") from exc
    if not isinstance(result, datetime.timedelta):
        raise ValueError(f"cannot convert {value!r} to a duration")
    return result


def to_int(value: str) -> int:
    """Convert an AMAZON.NUMBER value; Alexa sends ``?`` for a number it did not recognise."""
    text = _text(value, "an integer")
    # Stricter than int(): it would also take "1_000" and full-width digits.
    if not _INT.fullmatch(text):
        raise ValueError(f"cannot convert {value!r} to an integer")
    return int(text)


def to_float(value: str) -> float:
    """Convert a number slot to a float; ``?``, ``nan`` and ``inf`` are errors."""
    text = _text(value, "a number")
    if not _FLOAT.fullmatch(text):
        raise ValueError(f"cannot convert {value!r} to a number")
    result = float(text)
    if not math.isfinite(result):
        raise ValueError(f"cannot convert {value!r} to a finite number")
    return result


CONVERTERS: dict[str, Callable[[str], Any]] = {
    "date": to_date,
    "time": to_time,
    "timedelta": to_timedelta,
    "int": to_int,
    "float": to_float,
}


def converter_for(spec: str | Callable[[str], Any]) -> Callable[[str], Any]:
    """Resolve a ``convert=`` entry: a shorthand name from CONVERTERS, or any callable."""
    if isinstance(spec, str):
        try:
            return CONVERTERS[spec]
        except KeyError:
            known = ", ".join(sorted(CONVERTERS))
            raise ValueError(f"unknown converter {spec!r}; expected one of {known}") from None
    if callable(spec):
        return spec
    raise TypeError(f"a converter must be a shorthand name or a callable, not {spec!r}")
