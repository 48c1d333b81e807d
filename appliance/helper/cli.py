"""The appliance's root helper: the one way the unprivileged admin reaches root.

    install REVISION          (the catalogue comes in the request, never files)
    restore REVISION
    state                     (waits for a running install: what is installed now)
    service ACTION NAME
    services ACTION NAME [NAME...]
    status-all | daemon-reload | reload-caddy
    logs NAME [--lines N]
    last-requests [NAME...]
    request-lines --after CURSOR | --since EPOCH [NAME...]
    backup                    (an encrypted archive; what, where and to whom: root's layout)
    restore-backup ARCHIVE [--identity-file FILE]   (root by hand: never through the socket)

On a host, systemd starts it once per connection to ``/run/appliance-helper.sock``
(``appliance-helper.socket``, ``Accept=yes``), in its own unit: ``--socket`` reads one JSON
request ``{"args": [...], ...}`` from the connection and answers with one JSON line, after
checking from the socket itself (``SO_PEERCRED``) that the caller is root or the admin's user.
Root may also run it by hand with the command as arguments, or with ``--stdin`` and a request on
standard input (the tests, and a root-run admin). It trusts nothing from its caller: every
argument is checked against an allow-list, files are rendered from a checked catalogue, and the
host's layout comes from root's ``/etc/appliance/layout.json``. Exit 0 on success, 1 on
failure, 2 for a refused request.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pwd
import socket
import struct
import sys

from ..render.layout import DEFAULT_LAYOUT, LayoutError, load_layout
from . import backup, batch, install, policy, releases, requestlog, restoring
from .install import Failure
from .policy import Refused
from .services import Services

log = logging.getLogger("appliance.helper")

USAGE = ("usage: appliance-helper install REVISION | restore REVISION | state | "
         "service ACTION NAME | services ACTION NAME [NAME...] | status-all | daemon-reload | "
         "reload-caddy | logs NAME [--lines N] | last-requests [NAME...] | "
         "request-lines --after CURSOR | --since EPOCH [NAME...] | backup | "
         f"{restoring.USAGE}")
DEFAULT_LOG_LINES = 200
REQUEST_FIELDS = frozenset({"args", "catalogue", "catalogue_id"})
MAX_REQUEST = 32 * 1024 * 1024  # a catalogue of hundreds of skills with their templates


def _arity(args: list[str], low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(args) <= high:
        raise Refused(f"wrong number of arguments; {USAGE}")


def dispatch(argv: list[str], request: dict | None = None,
             layout_file: str = DEFAULT_LAYOUT) -> dict:
    if not argv or not all(isinstance(arg, str) for arg in argv):
        raise Refused(USAGE)
    command, args = argv[0], argv[1:]
    if command.startswith("release-"):  # a skill's releases: helper/releases.py
        return releases.dispatch(command, args, request, layout_file)
    known = ("install", "restore", "state", "service", "services", "status-all",
             "daemon-reload", "reload-caddy", "logs", "last-requests", "request-lines",
             "backup", "restore-backup")
    if command not in known:
        raise Refused(f"unknown command {command!r}; {USAGE}")
    # Check the arguments' shape before reading anything from disk.
    if command in ("install", "restore"):
        _arity(args, 1)
        revision = policy.revision_number(args[0])
        if command == "install" and request is None:
            raise Refused("install takes its catalogue in a request: --stdin or the socket")
    elif command == "service":
        _arity(args, 2)
        action, name = policy.action(args[0]), policy.service_name(args[1])
    elif command == "services":
        if len(args) < 2:
            raise Refused(f"wrong number of arguments; {USAGE}")
        action, names = policy.batch_action(args[0]), policy.service_names(args[1:])
    elif command == "restore-backup":
        archive_path, identity_file = restoring.arguments(args, request)
    elif command in ("state", "status-all", "daemon-reload", "reload-caddy", "backup"):
        _arity(args, 0)
    elif command == "last-requests":
        units = policy.skill_units(args)  # none: every skill the host has
    elif command == "request-lines":
        if len(args) < 2 or args[0] not in ("--after", "--since"):
            raise Refused(f"request-lines takes --after CURSOR or --since EPOCH; {USAGE}")
        after = policy.journal_cursor(args[1]) if args[0] == "--after" else ""
        since = policy.epoch_seconds(args[1]) if args[0] == "--since" else 0
        units = policy.skill_units(args[2:])
    else:
        _arity(args, 1, 3)
        name = policy.service_name(args[0], logs=True)
        lines = DEFAULT_LOG_LINES
        if len(args) == 3 and args[1] == "--lines":
            lines = policy.log_lines(args[2])
        elif len(args) != 1:
            raise Refused(f"logs takes NAME [--lines N]; {USAGE}")

    try:
        paths, extras = load_layout(layout_file)
    except LayoutError as exc:
        raise Failure(str(exc)) from None
    services = Services(paths, extras)
    if command == "install":
        prepared = install.prepare(request, paths, extras)
        with install.exclusive(paths):
            return install.install(revision, *prepared, paths, services.retire)
    if command == "restore":
        with install.exclusive(paths):
            return install.restore(revision, paths, services.retire)
    if command == "backup":
        return backup.run(paths, extras)
    if command == "restore-backup":
        return restoring.run(archive_path, identity_file, paths, extras)
    if command == "state":
        with install.exclusive(paths):
            return {"ok": True, "message": "the helper's state", **install.read_state(paths)}
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
    if command == "request-lines":
        units = units or requestlog.installed_units(paths, services.flavour)
        return requestlog.request_lines(services.flavour, units, after=after, since=since)
    return services.logs(name, lines)


def read_request(stream) -> dict:
    return parse_request(stream.read(MAX_REQUEST + 1))


def parse_request(data: bytes) -> dict:
    if len(data) > MAX_REQUEST:
        raise Refused(f"the request is larger than {MAX_REQUEST} bytes")
    try:
        request = json.loads(data)
    except ValueError:
        raise Refused("the request is not JSON") from None
    if not isinstance(request, dict) or not isinstance(request.get("args"), list):
        raise Refused('the request must be a JSON object with "args": [command, ...]')
    unknown = sorted(set(request) - REQUEST_FIELDS)
    if unknown:
        raise Refused(f"unknown request fields: {', '.join(unknown)}")
    return request


def peer_uid(fd: int) -> int:
    """The user ID of the process at the other end of the unix socket ``fd`` (the kernel's
    word, not the caller's)."""
    with socket.socket(fileno=os.dup(fd)) as conn:
        if conn.family != socket.AF_UNIX:
            raise Refused("the helper answers on its unix socket only")
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def allowed_uids(layout_file: str) -> set[int]:
    """Root and the admin's user (layout.json's ``admin_user``); nobody else."""
    _, extras = load_layout(layout_file)
    uids = {0}
    with contextlib.suppress(KeyError):  # no such account: root alone
        uids.add(pwd.getpwnam(extras.get("admin_user", "appliance")).pw_uid)
    return uids


def serve_connection(layout_file: str = DEFAULT_LAYOUT) -> tuple[dict, int]:
    """One request from the socket on stdin (systemd's ``Accept=yes``)."""
    uid = peer_uid(sys.stdin.fileno())
    # Read before answering, whoever it is: closing on unread data would reset the connection
    # and the caller would never see why.
    data = sys.stdin.buffer.read(MAX_REQUEST + 1)
    if uid not in allowed_uids(layout_file):
        raise Refused(f"user {uid} may not use the appliance's helper")
    request = parse_request(data)
    if request["args"][:1] == ["restore-backup"]:
        raise Refused("restore-backup is root's, run by hand on the host; not through the socket")
    return dispatch(request["args"], request, layout_file), 0


def answer(run) -> int:
    try:
        result, code = run(), 0
    except Refused as exc:
        result, code = {"ok": False, "refused": True, "message": str(exc)}, 2
    except Failure as exc:
        result, code = {"ok": False, "message": str(exc), **exc.details}, 1
    except Exception as exc:
        # The traceback is for root's eyes (the journal); the caller gets words.
        log.exception("unexpected error")
        result, code = {"ok": False, "message": f"internal error: {type(exc).__name__}: {exc}"}, 1
    if not result.get("ok"):
        code = code or 1
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return code


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="appliance-helper: %(levelname)s %(message)s")
    os.umask(0o022)
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--socket"]:
        # Started by systemd for a connection: root's layout, whoever the caller says it is.
        return answer(lambda: serve_connection()[0])
    # By hand, root only: another layout may be named (tests lay a host out under a folder).
    layout_file = os.environ.get("APPLIANCE_LAYOUT") or DEFAULT_LAYOUT
    if argv == ["--stdin"]:
        def run():
            request = read_request(sys.stdin.buffer)
            return dispatch(request["args"], request, layout_file)
        return answer(run)
    return answer(lambda: dispatch(argv, None, layout_file))


if __name__ == "__main__":
    sys.exit(main())
