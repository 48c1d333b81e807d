"""Renderers: pure functions from a catalogue snapshot to the files that serve traffic.

Same snapshot in, byte-identical files out. Nothing here reads the database or the disk.
"""

from .files import render_all
from .snapshot import Catalogue, HostSpec, Paths, RenderedFile, SkillSpec

__all__ = ["Catalogue", "HostSpec", "Paths", "RenderedFile", "SkillSpec", "render_all"]
