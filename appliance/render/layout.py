"""The host's layout file: where the appliance's files live, shared by the admin and the helper.

Provisioning writes ``/etc/appliance/layout.json`` (root-owned, world-readable). Missing, the
defaults of :class:`Paths` apply. Tests write one whose paths all sit under a temporary root.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from .snapshot import Paths

DEFAULT_LAYOUT = "/etc/appliance/layout.json"
FIELDS = {field.name for field in dataclasses.fields(Paths)}


class LayoutError(ValueError):
    pass


def load_layout(path: str | Path = DEFAULT_LAYOUT) -> tuple[Paths, dict]:
    """(paths, extras) from the layout file; extras hold non-path settings (init flavour…)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Paths(), {}
    except (OSError, ValueError) as exc:
        raise LayoutError(f"cannot read the layout file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise LayoutError(f"{path} must hold a JSON object")
    paths = {key: value for key, value in data.get("paths", {}).items() if key in FIELDS}
    for key, value in paths.items():
        if not isinstance(value, str) or not value.startswith("/") or ".." in value.split("/"):
            raise LayoutError(f"{path}: paths.{key} must be an absolute path")
    extras = {key: value for key, value in data.items() if key != "paths"}
    return Paths(**paths), extras


def write_layout(path: str | Path, paths: Paths, **extras) -> None:
    data = {"paths": dataclasses.asdict(paths), **extras}
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def paths_under(root: str | Path, **overrides) -> Paths:
    """A layout with every path moved under ``root`` (tests, and a host built in a chroot)."""
    root = str(root).rstrip("/")
    defaults = Paths()
    moved = {name: f"{root}{getattr(defaults, name)}" for name in FIELDS if name != "root"}
    return Paths(**{**moved, "root": "/", **overrides})
