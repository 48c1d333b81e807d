"""A release's ``requirements.txt`` as the builder takes it: named packages from the index only.

Each line must be a PEP 508 requirement by name (``requests>=2.31``, ``pytz; python_version <
"3.12"``). pip options (``--index-url``, ``-e``, ``-r``), URLs and paths are refused: they would
let a skill choose where its code comes from, and the appliance's package index (root's
layout.json) is the one place it may. The admin checks a fetched release with this before it
asks the helper, which checks again (it trusts nothing the admin's account could have written).
Pure functions, no I/O.
"""

from __future__ import annotations

import re

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

MAX_SIZE = 64 * 1024
MAX_REQUIREMENTS = 200
# The appliance's runtime is on every release's path already; a package of that name from the
# index would hide it.
RUNTIME_PACKAGES = frozenset({"skills"})
_COMMENT = re.compile(r"(^|\s)#.*$")
_HINT = ("name packages from the package index, e.g. requests>=2.31; URLs, paths and pip "
         "options are not taken")


class RequirementsError(ValueError):
    """requirements.txt holds something the builder does not take; the message says which
    line and why."""


def _logical_lines(text: str):
    """(first line number, text) with comments dropped and backslash continuations joined."""
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _COMMENT.sub("", raw).rstrip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield start, (pending + line).strip()
        pending = ""
    if pending.strip():
        yield start, pending.strip()


def parse(text: str) -> list[str]:
    """The requirements, normalised, one string each; RequirementsError for the first line
    that is not a named requirement."""
    if len(text.encode("utf-8")) > MAX_SIZE:
        raise RequirementsError(f"requirements.txt is larger than {MAX_SIZE // 1024} KiB")
    found: list[str] = []
    for number, line in _logical_lines(text):
        if not line:
            continue
        where = f"requirements.txt line {number}"
        if line.startswith("-"):
            option = line.split()[0]
            raise RequirementsError(f"{where}: the pip option {option} is not taken: {_HINT}")
        try:
            requirement = Requirement(line)
        except InvalidRequirement as exc:
            raise RequirementsError(f"{where}: {line[:100]!r} is not a requirement "
                                    f"({exc}): {_HINT}") from None
        if requirement.url:
            raise RequirementsError(f"{where}: {requirement.name} @ {requirement.url[:100]}: "
                                    f"packages come from the package index, not from URLs")
        if canonicalize_name(requirement.name) in RUNTIME_PACKAGES:
            raise RequirementsError(f"{where}: {requirement.name} is the appliance's skill "
                                    f"runtime, which every release has already")
        found.append(str(requirement))
        if len(found) > MAX_REQUIREMENTS:
            raise RequirementsError(f"requirements.txt names more than {MAX_REQUIREMENTS} "
                                    "packages")
    return found
