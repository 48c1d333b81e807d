"""The figures a bench run measured: kept for the summary table and ``var/bench/runtime.json``."""

from __future__ import annotations

import datetime as dt
import json
import operator
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "var" / "bench" / "runtime.json"

_OPS = {"<=": operator.le, ">=": operator.ge}


@dataclass
class Figure:
    """One measured number, its same-run baseline and, for a goal, what it must satisfy.

    ``goal_on`` says whether the goal applies to the absolute ``value`` or to the ``ratio``
    value / baseline. A figure without a goal is printed for information only.
    """

    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    goal_op: str | None = None
    goal: float | None = None
    goal_on: str = "value"
    details: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline

    @property
    def status(self) -> str:
        if self.goal_op is None:
            return "info"
        subject = self.ratio if self.goal_on == "ratio" else self.value
        return "PASS" if subject is not None and _OPS[self.goal_op](subject, self.goal) else "MISS"

    @property
    def passed(self) -> bool:
        return self.status != "MISS"

    def goal_text(self) -> str:
        if self.goal_op is None:
            return "-"
        if self.goal_on == "ratio":
            return f"ratio {self.goal_op} {self.goal:g}"
        return f"{self.goal_op} {_number(self.goal)} {self.unit}"

    def describe(self) -> str:
        """One line for assertion messages."""
        ratio = f", ratio {self.ratio:.2f}" if self.ratio is not None else ""
        base = (f" vs {_number(self.baseline)} {self.unit} ({self.baseline_label})"
                if self.baseline is not None else "")
        return (f"{self.name}: {_number(self.value)} {self.unit}{base}{ratio}; "
                f"goal {self.goal_text()}: {self.status}")


FIGURES: dict[str, Figure] = {}


def record(figure: Figure) -> Figure:
    """Keep ``figure`` for the summary table and write it to the results file at once."""
    FIGURES[figure.name] = figure
    write_results([figure])
    return figure


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def table(figures: list[Figure]) -> str:
    """The summary: one line per figure, absolute numbers and the ratio to the baseline."""
    header = ("figure", "measured", "baseline", "ratio", "goal", "result")
    rows = []
    for fig in figures:
        baseline = (f"{_number(fig.baseline)} {fig.unit} ({fig.baseline_label})"
                    if fig.baseline is not None else "-")
        ratio = f"{fig.ratio:.2f}x" if fig.ratio is not None else "-"
        rows.append((fig.name, f"{_number(fig.value)} {fig.unit}", baseline, ratio,
                     fig.goal_text(), fig.status))
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def _machine() -> dict:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def write_results(figures: list[Figure], path: Path = RESULTS) -> Path:
    """Merge ``figures`` into the JSON file: a partial run keeps the other figures' last values."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or not isinstance(data.get("figures"), dict):
            raise ValueError
    except (OSError, ValueError):
        data = {"figures": {}}
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    data["updated_at"] = now
    data["machine"] = _machine()
    for fig in figures:
        entry = asdict(fig)
        entry.update(ratio=fig.ratio, status=fig.status, goal_text=fig.goal_text(),
                     measured_at=now)
        data["figures"][fig.name] = entry
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path
