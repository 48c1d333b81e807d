"""Small charts as inline SVG, drawn on the server: no script, no chart library, and a text
alternative (``aria-label`` and ``<title>``) saying what the line shows."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, PAD = 96, 20, 1.5
# Drawn with the SVG's own attributes: no style sheet of the dashboard's to change.
STROKES = {"errors": "#ba2121"}


def _path(values: Sequence[float | None], top: float) -> str:
    """An SVG path through the points that have a value; a gap where one has none."""
    step = (WIDTH - 2 * PAD) / max(1, len(values) - 1)
    parts, pen_down = [], False
    for index, value in enumerate(values):
        if value is None:
            pen_down = False
            continue
        x = PAD + index * step
        y = HEIGHT - PAD - (value / top if top > 0 else 0) * (HEIGHT - 2 * PAD)
        parts.append(f"{'L' if pen_down else 'M'}{x:.1f} {y:.1f}")
        pen_down = True
    return "".join(parts)


def sparkline(series: Sequence[tuple[str, Sequence[float | None]]], label: str) -> SafeString:
    """One chart of one or more lines (``(css class, values)``) on a common scale from zero;
    ``label`` is its text alternative. Nothing to draw: the label alone, as text."""
    known = [value for _, values in series for value in values if value is not None]
    if not known:
        return mark_safe(f'<span class="sparkline-empty">{escape(label)}</span>')  # noqa: S308
    top = max(known)
    lines = "".join(f'<path class="{escape(css)}" stroke="{STROKES.get(css, "currentColor")}" '
                    f'd="{_path(values, top)}"/>'
                    for css, values in series if any(v is not None for v in values))
    text = escape(label)
    return mark_safe(  # noqa: S308 — numbers and escaped text only
        f'<svg class="sparkline" role="img" aria-label="{text}" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" fill="none" stroke-width="1.2">'
        f'<title>{text}</title>{lines}</svg>')
