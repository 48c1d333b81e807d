"""One way to show a time everywhere: in the operator's time zone (settings.TIME_ZONE, from the
environment), as "2025-01-31 14:05:09 CET". Templates use the ``when`` filter, JSON answers
``when()``, and Django's own admin pages the same format through appliance/formats."""

from __future__ import annotations

import datetime as dt

from django.utils import dateformat, timezone

# Django's date format letters: what appliance/formats/en sets as DATETIME_FORMAT too.
WHEN_FORMAT = "Y-m-d H:i:s T"


def when(value) -> str:
    """A datetime or an ISO 8601 string (a log's time) as the operator reads it; "" for none."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return value  # not a time we know: shown as it came
    if not isinstance(value, dt.datetime):
        return ""
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)  # the logs' times are UTC
    return dateformat.format(timezone.localtime(value), WHEN_FORMAT)
