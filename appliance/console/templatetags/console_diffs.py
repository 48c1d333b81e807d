"""``{{ line|diff_class }}``: how a line of a diff is coloured (added, removed, hunk, context)."""

from django import template

register = template.Library()


@register.filter
def diff_class(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "ctx"
    if line.startswith("+"):
        return "add"
    if line.startswith("-"):
        return "del"
    return "hunk" if line.startswith("@@") else "ctx"
