"""Renderers: pure functions from a catalogue snapshot to the files that serve traffic.

Same snapshot in, byte-identical files out. Nothing here reads the database or the disk.
"""

from .snapshot import Catalogue, HostSpec, Paths, RenderedFile, SkillSpec

__all__ = ["Catalogue", "HostSpec", "Paths", "RenderedFile", "SkillSpec", "render_all"]


def __getattr__(name: str):
    # The root helper imports the snapshot types on every call; the renderers (and the skill
    # runtime they name files with) load only when something renders.
    if name == "render_all":
        from .files import render_all

        return render_all
    raise AttributeError(name)
