"""The helper's ``services ACTION NAME...``: one action on many services in one helper call.

An apply used to call the helper per service and action, a sudo and a Python start each
(100-300 ms): with 100 skills, half a minute. Where systemctl runs the services the batch is one
``systemctl ACTION unit...`` (systemd queues a job per unit and waits for them together; an
enable reloads systemd once, not once per unit). Everything else runs as the single ``service``
command runs it, a few at a time. The answer says how each service fared, so that the apply can
name the skill that failed.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from .install import Failure, run_tool, tail
from .services import SERVICE_TIMEOUT, Services, failure_message

# Init scripts run side by side (each waits for its daemon to listen), as the apply's threads
# ran them when each was a helper call of its own.
SYSV_WORKERS = 8
# The services of a batch start together and share the CPUs: some time each on top of one's.
PER_SERVICE_S = 2


def helper_timeout(count: int) -> float:
    """How long one command of the batch may take, for ``count`` services."""
    return SERVICE_TIMEOUT + PER_SERVICE_S * count


def call_timeout(count: int) -> float:
    """How long the admin waits for the helper's answer: longer than the helper may take."""
    return helper_timeout(count) + 30


def run(services: Services, action: str, names: list[str]) -> dict:
    """{"ok", "action", "units": {name: {"ok", "message", ...}}, "failed": [name...], "message"}:
    ok only when every service's action was done."""
    units = {name: unit for name in names if (unit := systemctl_unit(services, action, name))}
    results = {**_one_by_one(services, action, [n for n in names if n not in units]),
               **_systemctl(action, units)}
    results = {name: results[name] for name in names}
    failed = [name for name in names if not results[name]["ok"]]
    if failed:
        message = (f"{action} failed for {len(failed)} of {len(names)} services: "
                   + "; ".join(results[name]["message"] for name in failed))
    else:
        message = f"{action} {len(names)} services: done"
    return {"ok": not failed, "action": action, "units": results, "failed": failed,
            "message": message}


def systemctl_unit(services: Services, action: str, name: str) -> str | None:
    """The unit ``systemctl ACTION`` runs ``name`` as, where ``Services.service`` would run it
    through systemctl; None where it would not (an init script's enable is update-rc.d's, the
    DuckDNS cron file is nobody's, a missing script has its own answer)."""
    if services.flavour == "systemd":
        return name if "." in name else f"{name}.service"
    base = services.generated_unit_base(action, name)
    if base is not None and services.has_init_script(base):
        return f"{base}.service"
    return None


def _done(action: str, name: str) -> dict:
    return {"ok": True, "message": f"{action} {name}: done"}


def _failed(action: str, name: str, code: int, output: str) -> dict:
    # The single form's words, so the apply's messages read the same.
    return {"ok": False, "message": failure_message(action, name, code, output),
            "output": tail(output)}


def _lines_naming(unit: str, output: str) -> list[str]:
    # "alexa-skill-a.service" must not match inside "alexa-skill-b-alexa-skill-a.service".
    pattern = re.compile(rf"(?<![\w@.-]){re.escape(unit)}(?![\w@-])")
    return [line for line in output.splitlines() if pattern.search(line)]


def _systemctl(action: str, units: dict[str, str]) -> dict[str, dict]:
    if not units:
        return {}
    code, output = run_tool(["systemctl", action, *dict.fromkeys(units.values())],
                            timeout=helper_timeout(len(units)))
    if code == 0:
        return {name: _done(action, name) for name in units}
    if action in ("enable", "disable"):
        # systemd checks every unit file before it links any (one missing: none enabled), so
        # which failed and whether the others were done, only each alone can say.
        return {name: _alone(action, name, unit) for name, unit in units.items()}
    # systemctl queues a job per unit and names each that failed; the others were done.
    named = {name: _lines_naming(unit, output) for name, unit in units.items()}
    if not any(named.values()):
        # Nothing named (no bus, a timeout): the command failed as a whole, for every one.
        return {name: _failed(action, name, code, output) for name in units}
    return {name: _failed(action, name, code, "\n".join(lines)) if lines else _done(action, name)
            for name, lines in named.items()}


def _alone(action: str, name: str, unit: str) -> dict:
    code, output = run_tool(["systemctl", action, unit], timeout=SERVICE_TIMEOUT)
    return _done(action, name) if code == 0 else _failed(action, name, code, output)


def _one_by_one(services: Services, action: str, names: list[str]) -> dict[str, dict]:
    if not names:
        return {}
    if action in ("enable", "disable"):
        # update-rc.d rewrites the runlevels' shared links: one at a time.
        return {name: _one(services, action, name) for name in names}
    with ThreadPoolExecutor(max_workers=min(SYSV_WORKERS, len(names))) as pool:
        answers = pool.map(lambda name: _one(services, action, name), names)
        return dict(zip(names, answers, strict=True))


def _one(services: Services, action: str, name: str) -> dict:
    try:
        return {**services.service(action, name), "ok": True}
    except Failure as exc:
        return {"ok": False, "message": str(exc), **exc.details}
