"""{{ value|when }}: a time as the operator reads it (see appliance.console.timefmt)."""

from django import template

from .. import timefmt

register = template.Library()


@register.filter
def when(value) -> str:
    return timefmt.when(value)
