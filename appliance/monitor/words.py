"""Figures in the operator's words: sizes, durations, latencies; "—" where there is none."""

from __future__ import annotations

NONE = "—"


def size(value: int | None) -> str:
    if value is None:
        return NONE
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value} B"


def duration(seconds: float | None) -> str:
    """3 d 4 h, 5 h 12 min, 12 min 5 s, 4.2 s, 12 ms."""
    if seconds is None or seconds < 0:
        return NONE
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    days, hours, minutes = whole // 86400, whole % 86400 // 3600, whole % 3600 // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {whole % 60} s"


def cpu(nanoseconds: int | None) -> str:
    return NONE if nanoseconds is None else duration(nanoseconds / 1e9)


def latency(milliseconds: float | None) -> str:
    if milliseconds is None:
        return NONE
    if milliseconds >= 1000:
        return f"{milliseconds / 1000:.1f} s"
    return f"{milliseconds:.0f} ms" if milliseconds >= 10 else f"{milliseconds:.1f} ms"


def count(value: int | None) -> str:
    return NONE if value is None else f"{value:,}"
