"""Request latencies as a fixed histogram: counts per bucket add up across minutes and skills
(a percentile of percentiles would not), so the day's p95 is summed in SQL, not re-read."""

from __future__ import annotations

from collections.abc import Sequence

# Upper bounds in milliseconds; the last bucket takes everything slower.
BOUNDS_MS = (1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
BUCKETS = len(BOUNDS_MS) + 1
FIELDS = tuple(f"latency_{index:02d}" for index in range(BUCKETS))


def bucket(latency_ms: float) -> int:
    for index, bound in enumerate(BOUNDS_MS):
        if latency_ms <= bound:
            return index
    return len(BOUNDS_MS)


def percentile(counts: Sequence[int], fraction: float) -> float | None:
    """The latency below which ``fraction`` of the requests fell, interpolated inside its
    bucket (the slowest bucket answers its lower bound: "over 10 s"); None without requests."""
    total = sum(counts)
    if total <= 0:
        return None
    rank, seen = fraction * total, 0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            if index == len(BOUNDS_MS):
                return float(BOUNDS_MS[-1])
            low = BOUNDS_MS[index - 1] if index else 0.0
            return low + (BOUNDS_MS[index] - low) * max(0.0, rank - seen) / count
        seen += count
    return float(BOUNDS_MS[-1])
