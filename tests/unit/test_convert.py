"""Slot value conversion: every AMAZON.DATE / TIME / DURATION / NUMBER form, and the failures."""

from __future__ import annotations

import datetime as dt

import pytest

from skills.runtime.convert import (
    CONVERTERS,
    converter_for,
    to_date,
    to_float,
    to_int,
    to_time,
    to_timedelta,
)

pytestmark = pytest.mark.unit

CONVERTS = [
    # AMAZON.DATE
    ("date", "2015-11-25", dt.date(2015, 11, 25)),
    ("date", "2015-W48", dt.date(2015, 11, 23)),  # Monday of ISO week 48
    ("date", "2015-W01", dt.date(2014, 12, 29)),  # ISO week 1 can start in the previous year
    ("date", "2015-W48-WE", dt.date(2015, 11, 28)),  # Saturday of that week
    ("date", "2015-W53", dt.date(2015, 12, 28)),  # 2015 has 53 ISO weeks
    ("date", "2015-11", dt.date(2015, 11, 1)),
    ("date", "2015", dt.date(2015, 1, 1)),
    ("date", "201X", dt.date(2010, 1, 1)),
    ("date", "199X", dt.date(1990, 1, 1)),
    ("date", "2017-WI", dt.date(2017, 12, 1)),
    ("date", "2017-SP", dt.date(2017, 3, 1)),
    ("date", "2017-SU", dt.date(2017, 6, 1)),
    ("date", "2017-FA", dt.date(2017, 9, 1)),
    ("date", " 2015-11-25 ", dt.date(2015, 11, 25)),
    # AMAZON.TIME
    ("time", "14:25", dt.time(14, 25)),
    ("time", "14:25:30", dt.time(14, 25, 30)),
    ("time", "00:00", dt.time(0, 0)),
    ("time", "23:59", dt.time(23, 59)),
    ("time", "MO", dt.time(5, 0)),
    ("time", "AF", dt.time(12, 0)),
    ("time", "EV", dt.time(17, 0)),
    ("time", "NI", dt.time(21, 0)),
    ("time", "AM", dt.time(0, 0)),
    ("time", "PM", dt.time(12, 0)),
    # AMAZON.DURATION
    ("timedelta", "PT10M", dt.timedelta(minutes=10)),
    ("timedelta", "PT1H30M", dt.timedelta(hours=1, minutes=30)),
    ("timedelta", "P2D", dt.timedelta(days=2)),
    ("timedelta", "P1W", dt.timedelta(weeks=1)),
    ("timedelta", "PT0.5S", dt.timedelta(seconds=0.5)),
    ("timedelta", "P1Y", dt.timedelta(days=365)),
    ("timedelta", "P1M", dt.timedelta(days=30)),
    (
        "timedelta",
        "P1Y2M3DT4H5M6S",
        dt.timedelta(days=365 + 60 + 3, hours=4, minutes=5, seconds=6),
    ),
    # Numbers
    ("int", "3", 3),
    ("int", " 3 ", 3),
    ("int", "-12", -12),
    ("int", "0", 0),
    ("float", "2.5", 2.5),
    ("float", " 3 ", 3.0),
    ("float", "-0.25", -0.25),
]

REJECTS = [
    ("date", ""),
    ("date", "   "),
    ("date", "yesterday"),
    ("date", "2015-13"),  # no month 13
    ("date", "2015-02-30"),
    ("date", "2015-W54"),  # no week 54
    ("date", "2014-W53"),  # 2014 has only 52 ISO weeks
    ("date", "2015-W48-XX"),
    ("date", "2017-AU"),  # not a season code
    ("date", "0000"),  # no year zero
    ("date", "20XX"),
    ("time", ""),
    ("time", "25:00"),
    ("time", "14:61"),
    ("time", "14"),
    ("time", "XX"),
    ("time", "noon"),
    ("timedelta", ""),
    ("timedelta", "P"),
    ("timedelta", "PT"),
    ("timedelta", "10 minutes"),
    ("timedelta", "PT?M"),
    ("int", "?"),
    ("int", ""),
    ("int", "3.5"),
    ("int", "three"),
    ("int", "1_000"),
    ("float", "?"),
    ("float", "nan"),
    ("float", "inf"),
    ("float", "1.2.3"),
]


@pytest.mark.parametrize(("kind", "raw", "expected"), CONVERTS)
def test_converter_turns_alexa_value_into_python_value(kind, raw, expected):
    result = CONVERTERS[kind](raw)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(("kind", "raw"), REJECTS)
def test_converter_rejects_value_with_value_error_naming_it(kind, raw):
    with pytest.raises(ValueError, match="cannot convert"):
        CONVERTERS[kind](raw)


@pytest.mark.parametrize("kind", sorted(CONVERTERS))
def test_converter_reports_missing_value_as_value_error(kind):
    # An unfilled slot's value is None; that must be a conversion error, not a TypeError.
    with pytest.raises(ValueError, match="expected a string"):
        CONVERTERS[kind](None)


def test_present_ref_is_today():
    before = dt.date.today()
    result = to_date("PRESENT_REF")
    assert before <= result <= dt.date.today()


def test_converters_table_has_exactly_the_five_shorthands():
    assert {
        "date": to_date,
        "time": to_time,
        "timedelta": to_timedelta,
        "int": to_int,
        "float": to_float,
    } == CONVERTERS


@pytest.mark.parametrize("name", sorted(CONVERTERS))
def test_converter_for_resolves_shorthand_name(name):
    assert converter_for(name) is CONVERTERS[name]


def test_converter_for_passes_callable_through():
    assert converter_for(str.upper) is str.upper


def test_converter_for_unknown_name_raises_value_error_naming_it():
    with pytest.raises(ValueError, match="'datetime'"):
        converter_for("datetime")


def test_converter_for_rejects_non_callable_spec():
    with pytest.raises(TypeError):
        converter_for(42)
