"""The sudoers drop-in: the admin's user may run the root helper, and nothing else."""

from __future__ import annotations

import re

from .snapshot import Catalogue, RenderedFile

_USER_RE = re.compile(r"^[a-z_][a-z0-9_-]*$")
# sudoers gives meaning to , : = \ and whitespace; the helper's path must have none of them.
_PATH_RE = re.compile(r"^/[A-Za-z0-9._/+@-]+$")


def render_sudoers(cat: Catalogue) -> RenderedFile:
    user, helper = cat.host.admin_user, cat.paths.helper
    if not _USER_RE.match(user):
        raise ValueError(f"{user!r} is not a user name sudoers can take")
    if not _PATH_RE.match(helper):
        raise ValueError(f"{helper!r} is not a path sudoers can take")
    content = (
        "# Rendered by the appliance admin. Do not edit: changes are overwritten.\n"
        "# The admin applies changes through one root-owned helper with an allow-listed "
        "interface;\n"
        "# it validates its own arguments, so this names the command and nothing else.\n"
        f"{user} ALL=(root) NOPASSWD: {helper}\n"
    )
    # sudo refuses drop-ins that are writable by anyone or not owned by root.
    return RenderedFile(path=cat.paths.sudoers, content=content, mode=0o440)
