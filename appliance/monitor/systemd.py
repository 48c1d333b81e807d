"""systemd's accounting of the skills' services, from one ``systemctl show`` for them all.

Reading unit properties needs no privilege (systemd answers them on the system bus to anyone),
and the monitor's hardened unit allows the bus's unix socket, so this runs as the admin's user
without the root helper. A value systemd does not have reads as None: ``[not set]`` (memory of
a stopped service, or accounting off), an empty timestamp, a property this systemd does not
know (``MemoryPeak`` before systemd 254), a unit that is not loaded.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time
from dataclasses import dataclass

from ..helper.services import parse_show

PROPERTIES = ("Id", "LoadState", "ActiveState", "SubState", "MemoryCurrent", "MemoryPeak",
              "CPUUsageNSec", "NRestarts", "ActiveEnterTimestampMonotonic",
              "ExecMainStartTimestamp")
TIMEOUT = 20
# systemd prints "no value" as UINT64_MAX's words, or the number itself with some properties.
_UNSET = {"", "[not set]", "infinity", "18446744073709551615"}


class SystemdError(Exception):
    """systemctl could not be run or answered nothing usable; str() says why in words."""


@dataclass(frozen=True)
class Reading:
    load_state: str = ""
    active_state: str = ""
    sub_state: str = ""
    memory: int | None = None
    memory_peak: int | None = None
    cpu_ns: int | None = None
    restarts: int | None = None
    active_since: dt.datetime | None = None

    @property
    def active(self) -> bool:
        return self.active_state in ("active", "reloading", "deactivating")


def number(value: str | None) -> int | None:
    """A non-negative integer property, or None for systemd's "not set" and anything odd."""
    text = (value or "").strip()
    if text in _UNSET or not text.isdigit() or len(text) > 20:
        return None
    return int(text)


def started(props: dict[str, str], now: dt.datetime, monotonic_now: float) -> dt.datetime | None:
    """When the service became active: its monotonic timestamp set against ours (the same
    clock, CLOCK_MONOTONIC), else ExecMainStartTimestamp as printed with TZ=UTC."""
    if props.get("ActiveState") not in ("active", "reloading", "deactivating"):
        return None
    micros = number(props.get("ActiveEnterTimestampMonotonic"))
    if micros and micros / 1e6 <= monotonic_now:
        return now - dt.timedelta(seconds=monotonic_now - micros / 1e6)
    text = (props.get("ExecMainStartTimestamp") or "").strip()
    try:  # "Mon 2024-12-02 03:07:00 UTC"
        return dt.datetime.strptime(text, "%a %Y-%m-%d %H:%M:%S UTC").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def reading(props: dict[str, str] | None, now: dt.datetime, monotonic_now: float) -> Reading:
    if not props:
        return Reading()
    return Reading(
        load_state=props.get("LoadState", "")[:32],
        active_state=props.get("ActiveState", "")[:32],
        sub_state=props.get("SubState", "")[:32],
        memory=number(props.get("MemoryCurrent")),
        memory_peak=number(props.get("MemoryPeak")),
        cpu_ns=number(props.get("CPUUsageNSec")),
        restarts=number(props.get("NRestarts")),
        active_since=started(props, now, monotonic_now),
    )


def parse(output: str, units: list[str], now: dt.datetime,
          monotonic_now: float) -> dict[str, Reading]:
    """{unit: its Reading} for every unit asked about (an empty Reading when systemd said
    nothing of it)."""
    shown = parse_show(output, PROPERTIES)
    return {unit: reading(shown.get(unit), now, monotonic_now) for unit in units}


def read(units: list[str]) -> dict[str, Reading]:
    """The Readings of ``units`` (``alexa-skill-<slug>.service``), from one systemctl call."""
    if not units:
        return {}
    argv = ["systemctl", "show", "--property=" + ",".join(PROPERTIES), *units]
    # TZ: ExecMainStartTimestamp in UTC; the rest of the environment reaches the system bus.
    env = {**os.environ, "TZ": "UTC", "LC_ALL": "C", "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0"}
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT,
                              env=env, check=False, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise SystemdError("systemctl is not installed: this host does not run systemd") \
            from None
    except subprocess.TimeoutExpired:
        raise SystemdError(f"systemctl show did not answer within {TIMEOUT} s") from None
    now, monotonic_now = dt.datetime.now(dt.UTC), time.monotonic()
    readings = parse(done.stdout, units, now, monotonic_now)
    if done.returncode != 0 and not any(r.load_state for r in readings.values()):
        detail = (done.stderr or done.stdout).strip()[-300:] or f"exit {done.returncode}"
        raise SystemdError(f"systemctl show failed: {detail}")
    return readings
