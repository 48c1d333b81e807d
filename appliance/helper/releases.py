"""The helper's release commands (``cli.dispatch`` hands every ``release-*`` command here).

    release-build SLUG N          build release N from the code the admin fetched (build.py)
    release-prune SLUG [KEEP...]  remove the skill's other releases (never one in use)

Each argument is checked before anything is read from disk, as the other commands' are.
"""

from __future__ import annotations

from ..render.layout import LayoutError, load_layout
from . import build, releasedirs
from .install import Failure
from .policy import Refused

COMMANDS = ("release-build", "release-prune")
USAGE = "release-build SLUG N | release-prune SLUG [KEEP...]"
MAX_KEEP = 100


def dispatch(command: str, args: list[str], request: dict | None, layout_file: str) -> dict:
    if command not in COMMANDS:
        raise Refused(f"unknown command {command!r}; {USAGE}")
    if command == "release-build":
        if len(args) != 2:
            raise Refused(f"wrong number of arguments; {USAGE}")
        slug, number = releasedirs.skill_slug(args[0]), releasedirs.release_number(args[1])
    else:
        if not args or len(args) > MAX_KEEP + 1:
            raise Refused(f"release-prune takes a skill and at most {MAX_KEEP} releases to keep")
        slug = releasedirs.skill_slug(args[0])
        keep = {releasedirs.release_number(arg) for arg in args[1:]}
    try:
        paths, extras = load_layout(layout_file)
    except LayoutError as exc:
        raise Failure(str(exc)) from None
    if command == "release-build":
        return build.build(slug, number, paths, extras)
    return releasedirs.prune(slug, keep, paths)
