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
from .policy import skill_of_unit

# LSB status codes of an init script.
SYSV_STATES = {0: "active", 1: "failed", 2: "failed", 3: "inactive", 4: "unknown"}
PRIORITIES = {0: "error", 1: "error", 2: "error", 3: "error", 4: "warning", 5: "info",
              6: "info", 7: "debug"}
LEVEL_WORDS = re.compile(r"\b(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL)\b")
# Slow actions: an init script waits up to 15 s for a stubborn process to stop.
SERVICE_TIMEOUT = 90


class Services:
    def __init__(self, paths: Paths, extras: dict):
        self.paths = paths
        self.flavour = extras.get("init_flavour", "systemd")
        if self.flavour not in ("systemd", "sysv"):
            raise Failure(f"unknown init_flavour {self.flavour!r} in the layout file")

    # --- systemd and SysV side by side --------------------------------------------------------

    def service(self, action: str, name: str) -> dict:
        if self.flavour == "systemd":
            if action == "status":
                _, output = run_tool(["systemctl", "is-active", name])
                state = output.splitlines()[-1].strip() if output else "unknown"
                return {"ok": True, "state": state, "message": f"{name} is {state}"}
            return self._result(name, action, *run_tool(["systemctl", action, name],
                                                         timeout=SERVICE_TIMEOUT))
        return self._sysv(action, name)

    def daemon_reload(self) -> dict:
        if self.flavour != "systemd":
            return {"ok": True, "message": "nothing to reload: this host runs SysV init scripts"}
        return self._result("systemd", "daemon-reload", *run_tool(["systemctl", "daemon-reload"]))

    def reload_caddy(self) -> dict:
        # Graceful when Caddy runs; started when it does not (a fresh host, or after a crash).
        if self.flavour == "systemd":
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
            raise Failure(f"{action} {name} failed (exit {code}): {tail(output)}",
                          output=tail(output))
        return {"ok": True, "message": f"{action} {name}: done", "output": tail(output)}

    def retire(self, path: str) -> str | None:
        """Stop and disable a skill's service before its unit or init script is removed:
        afterwards nothing would know how to stop it."""
        directory, name = os.path.split(path)
        if self.flavour == "systemd" and directory == self.paths.systemd_dir:
            if not skill_of_unit(name.removesuffix(".service").removesuffix(".socket")):
                return None
            code, output = run_tool(["systemctl", "disable", "--now", name],
                                    timeout=SERVICE_TIMEOUT)
        elif self.flavour == "sysv" and directory == self.paths.initd_dir:
            if not skill_of_unit(name) or not os.path.isfile(self.paths.on_disk(path)):
                return None
            code, output = run_tool([self.paths.on_disk(path), "stop"], timeout=SERVICE_TIMEOUT)
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
