"""The appliance's root helper: the one command the unprivileged admin may run through sudo.

    appliance-helper install STAGING_DIR
    appliance-helper restore REVISION
    appliance-helper service ACTION NAME
    appliance-helper services ACTION NAME [NAME...]
    appliance-helper status-all
    appliance-helper daemon-reload
    appliance-helper reload-caddy
    appliance-helper logs NAME [--lines N]
    appliance-helper last-requests [NAME...]

It trusts nothing from its caller: only argv is read, every argument is checked against an
allow-list, and the host's layout comes from root's ``/etc/appliance/layout.json``. The answer is
one JSON object on stdout; exit 0 on success, 1 on failure, 2 for refused arguments.
"""

from __future__ import annotations

import json
import logging
import os
import sys

from ..render.layout import DEFAULT_LAYOUT, LayoutError, load_layout
from . import batch, install, policy, requestlog
from .install import Failure
from .policy import Refused
from .services import Services

log = logging.getLogger("appliance.helper")

USAGE = ("usage: appliance-helper install STAGING_DIR | restore REVISION | "
         "service ACTION NAME | services ACTION NAME [NAME...] | status-all | daemon-reload | "
         "reload-caddy | logs NAME [--lines N] | last-requests [NAME...]")
DEFAULT_LOG_LINES = 200


def layout_path() -> str:
    """Root's layout file; only root calling directly (not through sudo) may name another."""
    if "SUDO_USER" not in os.environ and "SUDO_UID" not in os.environ:
        return os.environ.get("APPLIANCE_LAYOUT") or DEFAULT_LAYOUT
    return DEFAULT_LAYOUT


def _arity(args: list[str], low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(args) <= high:
        raise Refused(f"wrong number of arguments; {USAGE}")


def dispatch(argv: list[str]) -> dict:
    if not argv:
        raise Refused(USAGE)
    command, args = argv[0], argv[1:]
    known = ("install", "restore", "service", "services", "status-all", "daemon-reload",
             "reload-caddy", "logs", "last-requests")
    if command not in known:
        raise Refused(f"unknown command {command!r}; {USAGE}")
    # Check the arguments' shape before reading anything from disk.
    if command == "install":
        _arity(args, 1)
    elif command == "restore":
        _arity(args, 1)
        revision = policy.revision_number(args[0])
    elif command == "service":
        _arity(args, 2)
        action, name = policy.action(args[0]), policy.service_name(args[1])
    elif command == "services":
        if len(args) < 2:
            raise Refused(f"wrong number of arguments; {USAGE}")
        action, names = policy.batch_action(args[0]), policy.service_names(args[1:])
    elif command in ("status-all", "daemon-reload", "reload-caddy"):
        _arity(args, 0)
    elif command == "last-requests":
        units = policy.skill_units(args)  # none: every skill the host has
    else:
        _arity(args, 1, 3)
        name = policy.service_name(args[0], logs=True)
        lines = DEFAULT_LOG_LINES
        if len(args) == 3 and args[1] == "--lines":
            lines = policy.log_lines(args[2])
        elif len(args) != 1:
            raise Refused(f"logs takes NAME [--lines N]; {USAGE}")

    try:
        paths, extras = load_layout(layout_path())
    except LayoutError as exc:
        raise Failure(str(exc)) from None
    services = Services(paths, extras)
    if command == "install":
        return install.install(args[0], paths, services.retire)
    if command == "restore":
        return install.restore(revision, paths, services.retire)
    if command == "service":
        return {**services.service(action, name), "name": name, "action": action}
    if command == "services":
        return batch.run(services, action, names)
    if command == "status-all":
        return services.status_all()
    if command == "daemon-reload":
        return services.daemon_reload()
    if command == "reload-caddy":
        return services.reload_caddy()
    if command == "last-requests":
        units = units or requestlog.installed_units(paths, services.flavour)
        return requestlog.last_requests(paths, services.flavour, units)
    return services.logs(name, lines)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="appliance-helper: %(levelname)s %(message)s")
    os.umask(0o022)
    argv = sys.argv[1:] if argv is None else argv
    try:
        result, code = dispatch(argv), 0
    except Refused as exc:
        result, code = {"ok": False, "refused": True, "message": str(exc)}, 2
    except Failure as exc:
        result, code = {"ok": False, "message": str(exc), **exc.details}, 1
    except Exception as exc:
        # The traceback is for root's eyes (stderr); the caller gets words.
        log.exception("unexpected error")
        result, code = {"ok": False, "message": f"internal error: {type(exc).__name__}: {exc}"}, 1
    if not result.get("ok"):
        code = code or 1
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
