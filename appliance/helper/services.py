"""The helper's service control and logs, for systemd hosts and SysV-init hosts."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import stat

from ..render.snapshot import Paths
from . import fsutil
from .install import SAFE_ENV, Failure, run_tool, tail
from .policy import FIXED_SERVICES, cron_path, skill_of_unit

# LSB status codes of an init script.
SYSV_STATES = {0: "active", 1: "failed", 2: "failed", 3: "inactive", 4: "unknown"}
PRIORITIES = {0: "error", 1: "error", 2: "error", 3: "error", 4: "warning", 5: "info",
              6: "info", 7: "debug"}
LEVEL_WORDS = re.compile(r"\b(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL)\b")
# Slow actions: an init script waits up to 15 s for a stubborn process to stop.
SERVICE_TIMEOUT = 90
# status-all: what `systemctl show` reports for each unit, and how long it may take.
SHOW_PROPERTIES = ("Id", "LoadState", "ActiveState", "SubState", "UnitFileState")
STATUS_TIMEOUT = 20
# The states status-all reports, in the UI's words.
RUNNING, STOPPED, FAILED, IDLE, UNKNOWN = "running", "stopped", "failed", "idle", "unknown"


def systemd_runs_init_scripts(paths: Paths) -> bool:
    """Whether systemd is PID 1 and the init scripts are the real /etc/init.d: then systemd runs
    them, as units its SysV generator makes. They must be started and stopped with systemctl:
    run directly, a daemon would live outside systemd's view (in the caller's cgroup), and a
    unit systemd still runs would hold its port."""
    return (os.path.isdir("/run/systemd/system")
            and paths.on_disk(paths.initd_dir) == "/etc/init.d")


def failure_message(action: str, name: str, code: int, output: str) -> str:
    """How a service action that failed is told, by one service or in a batch."""
    return f"{action} {name} failed (exit {code}): {tail(output)}"


class Services:
    def __init__(self, paths: Paths, extras: dict):
        self.paths = paths
        self.flavour = extras.get("init_flavour", "systemd")
        if self.flavour not in ("systemd", "sysv"):
            raise Failure(f"unknown init_flavour {self.flavour!r} in the layout file")
        self.under_systemd = systemd_runs_init_scripts(paths)
        # Whether services start and stop through systemctl, whatever the flavour.
        self.systemctl = self.flavour == "systemd" or self.under_systemd

    # --- systemd and SysV side by side --------------------------------------------------------

    def service(self, action: str, name: str) -> dict:
        if self.flavour == "systemd":
            if action == "status":
                _, output = run_tool(["systemctl", "is-active", name])
                state = output.splitlines()[-1].strip() if output else "unknown"
                return {"ok": True, "state": state, "message": f"{name} is {state}"}
            return self._result(name, action, *run_tool(["systemctl", action, name],
                                                         timeout=SERVICE_TIMEOUT))
        base = self.generated_unit_base(action, name)
        if base is not None:
            return self._generated_unit(action, base)
        return self._sysv(action, name)

    def generated_unit_base(self, action: str, name: str) -> str | None:
        """The init script whose systemd-made unit runs ``action`` on ``name`` (SysV flavour
        under systemd); None where the script itself or update-rc.d does it."""
        if (self.under_systemd and action in ("start", "stop", "restart", "reload")
                and name != "appliance-duckdns.timer"):
            return name.removesuffix(".socket")
        return None

    def has_init_script(self, base: str) -> bool:
        return os.path.isfile(self.paths.on_disk(f"{self.paths.initd_dir}/{base}"))

    def _generated_unit(self, action: str, base: str) -> dict:
        """An init script's action through the unit systemd made of it (enable, which
        update-rc.d does, reloads systemd first: a new script has its unit by then)."""
        if not self.has_init_script(base):
            if action == "stop":
                return {"ok": True, "message": f"{base} is not installed, so not running"}
            raise Failure(f"{base} has no init script ({self.paths.initd_dir}/{base})")
        return self._result(base, action, *run_tool(["systemctl", action, f"{base}.service"],
                                                    timeout=SERVICE_TIMEOUT))

    def status_all(self) -> dict:
        """Every service the appliance manages and its state, from one look at the host:
        {"units": {name: running | stopped | failed | idle | unknown}}. An on-demand skill's
        socket is folded into its service ("idle": the socket listens, the service sleeps)."""
        units = self._systemd_states() if self.flavour == "systemd" else self._sysv_states()
        return {"ok": True, "units": units, "message": f"states of {len(units)} services"}

    def _systemd_states(self) -> dict[str, str]:
        # Literal names load a unit that is not in memory (a stopped, disabled skill); the globs
        # catch a skill still in memory whose unit file is already gone.
        names = [*(f"{n}.service" if "." not in n else n for n in sorted(FIXED_SERVICES)),
                 *skill_unit_files(self.paths.on_disk(self.paths.systemd_dir)),
                 "alexa-skill-*.service", "alexa-skill-*.socket"]
        code, output = run_tool(["systemctl", "show", "--property=" + ",".join(SHOW_PROPERTIES),
                                 *names], timeout=STATUS_TIMEOUT)
        units = parse_show(output)
        if code != 0 and not units:
            raise Failure(f"systemctl show failed (exit {code}): {tail(output)}",
                          output=tail(output))
        return fold_states(units)

    def _sysv_states(self) -> dict[str, str]:
        # The init scripts there and the pid files the scripts wrote: a service runs when the
        # process its pid file names is alive (what `status` checks, without a shell each).
        run_dir = self.paths.on_disk(self.paths.run_dir)
        names = {name for name in _listdir(self.paths.on_disk(self.paths.initd_dir))
                 if _managed(name)}
        names |= {entry.removesuffix(".pid") for entry in _listdir(run_dir)
                  if entry.endswith(".pid") and _managed(entry.removesuffix(".pid"))}
        units = {name: pid_file_state(f"{run_dir}/{name}.pid") for name in sorted(names)}
        # No timer without systemd: cron runs the DuckDNS update when its file is there.
        cron = self.paths.on_disk(cron_path(self.paths))
        units["appliance-duckdns.timer"] = RUNNING if os.path.isfile(cron) else STOPPED
        return units

    def daemon_reload(self) -> dict:
        if self.flavour != "systemd":
            return {"ok": True, "message": "nothing to reload: this host runs SysV init scripts"}
        return self._result("systemd", "daemon-reload", *run_tool(["systemctl", "daemon-reload"]))

    def reload_caddy(self) -> dict:
        # Graceful when Caddy runs; started when it does not (a fresh host, or after a crash).
        # Under systemd Caddy is the package's unit whatever the flavour (its generator skips
        # an init script that has a native unit).
        if self.systemctl:
            code, _ = run_tool(["systemctl", "is-active", "--quiet", "caddy"])
            action = "reload" if code == 0 else "start"
            argv = ["systemctl", action, "caddy"]
        else:
            script = self._script("caddy")
            code, _ = run_tool([script, "status"])
            action = "reload" if code == 0 else "start"
            argv = [script, action]
        result = self._result("caddy", action, *run_tool(argv, timeout=SERVICE_TIMEOUT))
        result["action"] = action
        return result

    def _script(self, name: str) -> str:
        script = self.paths.on_disk(f"{self.paths.initd_dir}/{name}")
        if not os.path.isfile(script):
            raise Failure(f"{name} has no init script ({script})")
        return script

    def _sysv(self, action: str, name: str) -> dict:
        if name == "appliance-duckdns.timer":
            return {"ok": True, "state": "active" if action == "status" else None,
                    "message": "on a SysV host cron runs the DuckDNS update; nothing to do"}
        base = name.removesuffix(".socket")  # no socket activation without systemd
        if action in ("enable", "disable"):
            return self._update_rc(action, base)
        script = self.paths.on_disk(f"{self.paths.initd_dir}/{base}")
        if not os.path.isfile(script):
            if action in ("stop", "status"):
                return {"ok": True, "state": "inactive",
                        "message": f"{base} is not installed, so not running"}
            raise Failure(f"{base} has no init script ({script})")
        code, output = run_tool([script, action], timeout=SERVICE_TIMEOUT)
        if action == "status":
            state = SYSV_STATES.get(code, "unknown")
            return {"ok": True, "state": state, "message": output or f"{base} is {state}"}
        return self._result(base, action, code, output)

    def _update_rc(self, action: str, name: str) -> dict:
        # update-rc.d only knows /etc/init.d; scripts elsewhere (a test root) are not linked.
        if self.paths.on_disk(self.paths.initd_dir) != "/etc/init.d":
            return {"ok": True, "message": f"{name}: init scripts outside /etc/init.d are not "
                                           "linked into the runlevels; nothing to do"}
        if not shutil.which("update-rc.d", path=SAFE_ENV["PATH"]):
            return {"ok": True, "message": f"{name}: update-rc.d is not installed; the script "
                                           "is not linked into the runlevels"}
        if action == "disable" and not os.path.exists(f"/etc/init.d/{name}"):
            return {"ok": True, "message": f"{name} is not installed"}
        argv = ["update-rc.d", name, "defaults" if action == "enable" else "remove"]
        return self._result(name, action, *run_tool(argv))

    @staticmethod
    def _result(name: str, action: str, code: int, output: str) -> dict:
        if code != 0:
            raise Failure(failure_message(action, name, code, output), output=tail(output))
        return {"ok": True, "message": f"{action} {name}: done", "output": tail(output)}

    def retire(self, path: str) -> str | None:
        """Stop and disable a skill's service before its unit or init script is removed:
        afterwards nothing would know how to stop it."""
        directory, name = os.path.split(path)
        # Under systemd, a unit file removed by a switch to SysV scripts, or a script removed by
        # a switch back, names a unit systemd still runs: it is stopped the same way.
        if self.systemctl and directory == self.paths.systemd_dir:
            if not skill_of_unit(name.removesuffix(".service").removesuffix(".socket")):
                return None
            # SYSTEMCTL_SKIP_SYSV: a new init script of the same name keeps its runlevel links.
            code, output = run_tool(["systemctl", "disable", "--now", name],
                                    timeout=SERVICE_TIMEOUT, env={"SYSTEMCTL_SKIP_SYSV": "1"})
        elif (self.flavour == "sysv" or self.under_systemd) and directory == self.paths.initd_dir:
            if not skill_of_unit(name) or not os.path.isfile(self.paths.on_disk(path)):
                return None
            stop = (["systemctl", "stop", f"{name}.service"] if self.under_systemd
                    else [self.paths.on_disk(path), "stop"])
            code, output = run_tool(stop, timeout=SERVICE_TIMEOUT)
            self._update_rc("disable", name)
        else:
            return None
        return f"stopped {name}" if code == 0 else f"stopping {name} failed: {tail(output, 300)}"

    # --- logs ---------------------------------------------------------------------------------

    def logs(self, name: str, lines: int) -> dict:
        if self.flavour == "systemd":
            code, output = run_tool(["journalctl", "-u", name, "-n", str(lines), "-o", "json",
                                     "--no-pager"])
            if code != 0:
                raise Failure(f"journalctl failed for {name}: {tail(output)}")
            entries = [journal_entry(line) for line in output.splitlines() if line.strip()]
        else:
            base = name.removesuffix(".socket").removesuffix(".timer")
            path = self.paths.on_disk(f"{self.paths.log_dir}/{base}.log")
            entries = [log_line_entry(line) for line in last_lines(path, lines)]
        entries = [entry for entry in entries if entry is not None]
        return {"ok": True, "name": name, "entries": entries,
                "message": f"{len(entries)} log lines of {name}"}


# --- status-all, pure parts ------------------------------------------------------------------

def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _managed(name: str) -> bool:
    return name in FIXED_SERVICES or skill_of_unit(name) is not None


def skill_unit_files(systemd_dir: str) -> list[str]:
    """The skills' unit files in ``systemd_dir``: alexa-skill-<slug>.service / .socket."""
    units = []
    for entry in sorted(_listdir(systemd_dir)):
        base, dot, suffix = entry.rpartition(".")
        if dot and suffix in ("service", "socket") and skill_of_unit(base):
            units.append(entry)
    return units


def parse_show(output: str, properties=SHOW_PROPERTIES) -> dict[str, dict[str, str]]:
    """`systemctl show -p ...` for several units → {Id: {property: value}} (``properties``
    only: the admin's monitor asks for others, and needs ``Id`` among them).

    systemctl prints one block of KEY=VALUE lines per unit, blocks separated by an empty line.
    A new block also starts where an Id appears a second time in one block, so a missing empty
    line cannot merge two units. Lines that are no property (a warning on stderr, merged in)
    are skipped, and a block without an Id is dropped.
    """
    units: dict[str, dict[str, str]] = {}
    block: dict[str, str] = {}

    def close() -> None:
        if block.get("Id"):
            units.setdefault(block["Id"], dict(block))
        block.clear()

    for line in output.splitlines():
        if not line.strip():
            close()
            continue
        key, equals, value = line.partition("=")
        if not equals or key not in properties:
            continue
        if key in block:
            close()
        block[key] = value.strip()
    close()
    return units


def unit_state(props: dict[str, str] | None) -> str:
    """One unit's ActiveState (and SubState) in the UI's words."""
    if not props:
        return STOPPED  # not even loaded: nothing runs
    active, sub = props.get("ActiveState", ""), props.get("SubState", "")
    if active in ("active", "reloading", "deactivating"):
        return RUNNING
    if active == "activating":
        # Between two tries of Restart=on-failure the service has just failed.
        return FAILED if sub == "auto-restart" else RUNNING
    if active == "failed":
        return FAILED
    if active == "inactive":
        return STOPPED
    return UNKNOWN


def fold_states(units: dict[str, dict[str, str]]) -> dict[str, str]:
    """{Id: properties} → {name: state} for the services the helper manages: skills by
    ``alexa-skill-<slug>`` (their socket folded in), ``caddy``, ``appliance-admin`` and
    ``appliance-duckdns.timer``; anything else systemctl mentioned is left out."""
    states: dict[str, str] = {}
    skills = {skill_of_unit(uid.rpartition(".")[0]) for uid in units
              if uid.endswith((".service", ".socket"))} - {None}
    for slug in sorted(skills):
        name = f"alexa-skill-{slug}"
        service = unit_state(units.get(f"{name}.service"))
        socket = units.get(f"{name}.socket")
        if service == STOPPED and socket is not None:
            # Socket activation: a listening socket with its service asleep is "idle".
            service = {RUNNING: IDLE, FAILED: FAILED}.get(unit_state(socket), STOPPED)
        states[name] = service
    for name in sorted(FIXED_SERVICES):
        uid = name if "." in name else f"{name}.service"
        if uid in units:
            states[name] = unit_state(units[uid])
    return states


def pid_file_state(path: str) -> str:
    """running (its process is alive), failed (a pid file left by a dead process, LSB's
    "dead but the pid file exists") or stopped (no pid file)."""
    try:
        fd = os.open(path, fsutil.READ_FLAGS)
    except FileNotFoundError:
        return STOPPED
    except OSError:
        return UNKNOWN
    with os.fdopen(fd, "rb") as handle:
        text = handle.read(64).decode("ascii", "replace").strip()
    if not text.isdigit() or int(text) <= 1:
        return FAILED
    return RUNNING if process_alive(int(text)) else FAILED


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat_line = handle.read(512)
    except OSError:
        return False
    # "PID (comm) S ...": the state follows the last ')'; a zombie has exited already.
    state = stat_line[stat_line.rfind(b")") + 2:][:1]
    return state not in (b"Z", b"X")


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="milliseconds")


def journal_entry(line: str) -> dict | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    message = record.get("MESSAGE", "")
    if isinstance(message, list):  # journald sends non-UTF-8 messages as byte arrays
        message = bytes(b & 0xFF for b in message if isinstance(b, int)).decode("utf-8",
                                                                                 "replace")
    try:
        when = _iso(int(record.get("__REALTIME_TIMESTAMP", 0)) / 1e6)
        priority = int(record.get("PRIORITY", 6))
    except (TypeError, ValueError):
        when, priority = "", 6
    return {"time": when, "level": PRIORITIES.get(priority, "info"), "message": str(message)}


def log_line_entry(line: str) -> dict | None:
    """A line of a SysV service's log: Caddy's JSON lines, or the runtime's text lines."""
    text = line.rstrip("\n")
    if not text.strip():
        return None
    if text.startswith("{"):
        try:
            record = json.loads(text)
            when = record.get("ts")
            message = record.get("msg", "")
            extra = {k: v for k, v in record.items() if k not in ("ts", "level", "msg")}
            return {"time": _iso(float(when)) if isinstance(when, int | float) else "",
                    "level": str(record.get("level", "info")).lower(),
                    "message": f"{message} {json.dumps(extra)}" if extra else str(message)}
        except (ValueError, TypeError, OverflowError, OSError):
            pass
    match = LEVEL_WORDS.search(text[:40])
    level = match.group(1).lower() if match else "info"
    level = {"warn": "warning", "critical": "error"}.get(level, level)
    return {"time": "", "level": level, "message": text}


def last_lines(path: str, count: int, block: int = 65536) -> list[str]:
    """The last ``count`` lines of a file, reading from its end (logs can be large)."""
    try:
        fd = os.open(path, fsutil.READ_FLAGS)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise Failure(f"cannot read {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise Failure(f"{path} is not a regular file")
        handle.seek(0, os.SEEK_END)
        end = position = handle.tell()
        data = b""
        while position > 0 and data.count(b"\n") <= count:
            step = min(block, position)
            position -= step
            handle.seek(position)
            data = handle.read(step) + data
            if end - position > 64 * 1024 * 1024:
                break
    lines = data.decode("utf-8", "replace").splitlines()
    return lines[-count:]
