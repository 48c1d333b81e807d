"""The helper's release commands (``cli.dispatch`` hands every ``release-*`` command here).

    release-build SLUG N          build release N from the code the admin fetched (build.py)
    release-prune SLUG [KEEP...]  remove the skill's other releases (never one in use)
    release-start SLUG N PORT     run release N beside the live one (candidate.py; the request
                                  holds the catalogue)
    release-route SLUG PORT       Caddy sends the skill's requests to that candidate (idem)
    release-stop SLUG             stop the candidate
    release-state SLUG            which of the skill's releases are complete on this host, which
                                  a build left unfinished, which are in use (read only)

Each argument is checked before anything is read from disk, as the other commands' are.
"""

from __future__ import annotations

import re

from ..render.layout import LayoutError, load_layout
from . import build, candidate, releasedirs
from .install import Failure
from .policy import Refused
from .services import Services

USAGE = ("release-build SLUG N | release-prune SLUG [KEEP...] | release-start SLUG N PORT | "
         "release-route SLUG PORT | release-stop SLUG | release-state SLUG")
ARITY = {"release-build": 2, "release-start": 3, "release-route": 2, "release-stop": 1,
         "release-state": 1}
MAX_KEEP = 100
PORT = re.compile(r"[1-9][0-9]{3,4}")


def port_number(value: str) -> int:
    if not PORT.fullmatch(value) or not 1024 <= int(value) <= 65535:
        raise Refused(f"not a port from 1024 to 65535: {value!r}")
    return int(value)


def dispatch(command: str, args: list[str], request: dict | None, layout_file: str) -> dict:
    if command not in (*ARITY, "release-prune"):
        raise Refused(f"unknown command {command!r}; {USAGE}")
    if command == "release-prune":
        if not args or len(args) > MAX_KEEP + 1:
            raise Refused(f"release-prune takes a skill and at most {MAX_KEEP} releases to keep")
    elif len(args) != ARITY[command]:
        raise Refused(f"wrong number of arguments; {USAGE}")
    slug = releasedirs.skill_slug(args[0])
    if command in ("release-build", "release-start"):
        number = releasedirs.release_number(args[1])
    if command in ("release-start", "release-route"):
        port = port_number(args[-1])
    if command == "release-prune":
        keep = {releasedirs.release_number(arg) for arg in args[1:]}
    try:
        paths, extras = load_layout(layout_file)
    except LayoutError as exc:
        raise Failure(str(exc)) from None
    systemd = Services(paths, extras).systemctl
    if command == "release-build":
        return build.build(slug, number, paths, extras)
    if command == "release-prune":
        return releasedirs.prune(slug, keep, paths)
    if command == "release-state":
        return releasedirs.state(slug, paths)
    if command == "release-start":
        return candidate.start(slug, number, port, request, paths, extras, systemd)
    if command == "release-route":
        return candidate.route(slug, port, request, paths, extras)
    return candidate.stop(slug, paths, systemd)
