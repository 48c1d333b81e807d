"""Everything the host serves from, for its init flavour: the renderers' one entry point."""

from __future__ import annotations

from itertools import pairwise

from .caddyfile import render_caddyfile
from .duckdns import render_duckdns
from .envfiles import render_env_files
from .snapshot import Catalogue, RenderedFile
from .systemd import render_units
from .sysv import render_init_scripts

FLAVOURS = ("systemd", "sysv")


def render_all(cat: Catalogue) -> list[RenderedFile]:
    """Every rendered file, sorted by path. The same catalogue gives byte-identical files."""
    flavour = cat.host.init_flavour
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown init flavour {flavour!r} (expected systemd or sysv)")
    services = render_units(cat) if flavour == "systemd" else render_init_scripts(cat)
    files = [render_caddyfile(cat), *render_env_files(cat),
             *render_duckdns(cat), *services]
    files.sort(key=lambda f: f.path)
    clashes = sorted({a.path for a, b in pairwise(files) if a.path == b.path})
    if clashes:
        # Two renderers claiming one path would make the result depend on install order.
        raise ValueError(f"rendered more than once: {', '.join(clashes)}")
    return files
