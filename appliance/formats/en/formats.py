"""The admin's own pages (revision lists, read-only dates) show times as the console does."""

from appliance.console.timefmt import WHEN_FORMAT

DATETIME_FORMAT = SHORT_DATETIME_FORMAT = WHEN_FORMAT
DATE_FORMAT = SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s"
