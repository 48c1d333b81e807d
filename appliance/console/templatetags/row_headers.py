"""``{{ item|row_header }}``: Django's change list renders each row's link cell as a bare
``<th>``; saying it heads its row lets a screen reader name the row when reading its cells."""

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def row_header(item):
    # Only Django's own, already-escaped cell markup, and only a constant attribute is added.
    if isinstance(item, SafeString) and item.startswith("<th") and "scope=" not in item[:40]:
        return mark_safe('<th scope="row"' + item[3:])  # noqa: S308
    return item
