"""The pieces of the dashboard's figures: percentiles from the latency histogram, the sizes and
durations in words, and the charts' SVG."""

from __future__ import annotations

import re

import pytest

from appliance.monitor import latency, words
from appliance.monitor.sparkline import sparkline

pytestmark = pytest.mark.unit


def counts(**buckets) -> list[int]:
    row = [0] * latency.BUCKETS
    for index, count in buckets.items():
        row[int(index.removeprefix("b"))] = count
    return row


def test_each_latency_falls_in_the_first_bucket_that_holds_it():
    assert [latency.bucket(ms) for ms in (0, 1, 1.01, 5, 99.9, 10000, 10001)] == [
        0, 0, 1, 2, 6, 12, 13]
    assert len(latency.FIELDS) == latency.BUCKETS == len(latency.BOUNDS_MS) + 1


def test_a_percentile_is_interpolated_inside_its_bucket():
    # 100 requests between 10 and 25 ms: the median half way, p95 near the top.
    assert latency.percentile(counts(b4=100), 0.5) == pytest.approx(17.5)
    assert latency.percentile(counts(b4=100), 0.95) == pytest.approx(24.25)
    assert latency.percentile(counts(b0=50, b9=50), 0.5) == pytest.approx(1.0)
    assert latency.percentile(counts(b13=3), 0.5) == 10000  # "over 10 s"
    assert latency.percentile(counts(), 0.5) is None


@pytest.mark.parametrize(("value", "shown"), [
    (None, "—"), (0, "0 B"), (2048, "2.0 KiB"), (44040192, "42.0 MiB"), (3 << 30, "3.0 GiB")])
def test_sizes(value, shown):
    assert words.size(value) == shown


@pytest.mark.parametrize(("seconds", "shown"), [
    (None, "—"), (-1, "—"), (0.012, "12 ms"), (4.25, "4.2 s"), (125, "2 min 5 s"),
    (3 * 3600 + 300, "3 h 5 min"), (2 * 86400 + 4 * 3600 + 59, "2 d 4 h")])
def test_durations(seconds, shown):
    assert words.duration(seconds) == shown


def test_latencies_and_counts():
    assert [words.latency(v) for v in (None, 3.14, 42.4, 1500)] == ["—", "3.1 ms", "42 ms",
                                                                    "1.5 s"]
    assert [words.count(v) for v in (None, 0, 12345)] == ["—", "0", "12,345"]
    assert words.cpu(95_500_000_000) == "1 min 35 s"


def test_a_chart_is_svg_with_its_label_as_text_alternative_and_gaps_where_nothing_was():
    svg = str(sparkline([("requests", [1, 2, None, 4]), ("errors", [0, 1, None, 0])],
                        'Requests <per> "hour"'))
    assert svg.startswith('<svg class="sparkline" role="img" aria-label="Requests &lt;per&gt; '
                          '&quot;hour&quot;"')
    assert "<title>Requests &lt;per&gt; &quot;hour&quot;</title>" in svg
    requests = re.search(r'class="requests" stroke="currentColor" d="([^"]*)"', svg)[1]
    assert requests.count("M") == 2 and requests.count("L") == 1
    # One scale for both lines, from zero: the highest point touches the top.
    assert requests.endswith("1.5")


def test_nothing_to_draw_is_the_label_as_text():
    assert str(sparkline([("memory", [None, None])], "No <memory>")) == (
        '<span class="sparkline-empty">No &lt;memory&gt;</span>')
