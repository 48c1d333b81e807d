"""A systemd host for apply tests, without systemd: its layout under a temporary root, a helper
that records what it is asked and says yes, a health check that answers as it is told."""

from __future__ import annotations

from pathlib import Path

from appliance.render.layout import paths_under, write_layout


class FakeHelper(list):
    """The helper commands asked for (an install without its staging path), and the health
    check's answer to give."""

    def __init__(self):
        super().__init__()
        self.unhealthy: dict[str, str] = {}

    def __call__(self, *args, **kwargs):
        self.append(" ".join(args[:1] + args[2:] if args[0] == "install" else args))
        return {"ok": True, "message": f"{args[0]} done", "state": "active", "entries": []}

    def wait_healthy(self, *args, **kwargs):
        return dict(self.unhealthy)


def systemd_layout(root: Path) -> dict:
    """Writes a systemd host's layout under ``root``; the settings that point the admin at it."""
    write_layout(root / "layout.json", paths_under(root), init_flavour="systemd",
                 admin_user="root", skill_user="root")
    return {"APPLIANCE_LAYOUT": str(root / "layout.json"), "APPLIANCE_DATA_DIR": root / "data"}
