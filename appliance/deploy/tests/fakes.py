"""A systemd host for apply tests, without systemd: its layout under a temporary root, a helper
that records what it is asked and says yes (or no, to the service actions it is told to fail),
a health check that answers as it is told."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from unittest import mock

from django.test import override_settings

from appliance.deploy.client import HelperError
from appliance.render.layout import paths_under, write_layout


class FakeHelper(list):
    """The helper commands asked for (an install without its staging path), the service
    actions to fail ({"restart alexa-skill-x": why}) and the health check's answer to give."""

    def __init__(self):
        super().__init__()
        self.unhealthy: dict[str, str] = {}
        self.failing: dict[str, str] = {}

    def __call__(self, *args, **kwargs):
        self.append(" ".join(args[:1] + args[2:] if args[0] == "install" else args))
        if args[0] == "service" and f"{args[1]} {args[2]}" in self.failing:
            raise HelperError(self.failing[f"{args[1]} {args[2]}"], {"ok": False}, 1)
        if args[0] == "services":
            return self.services(args[1], args[2:])
        return {"ok": True, "message": f"{args[0]} done", "state": "active", "entries": []}

    def services(self, action: str, units) -> dict:
        """The batched form's answer: each unit's outcome, not ok when any failed."""
        answers = {unit: {"ok": f"{action} {unit}" not in self.failing,
                          "message": self.failing.get(f"{action} {unit}", "done")}
                   for unit in units}
        failed = [unit for unit, answer in answers.items() if not answer["ok"]]
        result = {"ok": not failed, "units": answers, "failed": failed,
                  "message": "; ".join(answers[unit]["message"] for unit in failed) or "done"}
        if failed:
            raise HelperError(result["message"], result, 1)
        return result

    def wait_healthy(self, *args, **kwargs):
        return dict(self.unhealthy)


def systemd_layout(root: Path) -> dict:
    """Writes a systemd host's layout under ``root``; the settings that point the admin at it."""
    write_layout(root / "layout.json", paths_under(root), init_flavour="systemd",
                 admin_user="root", skill_user="root")
    return {"APPLIANCE_LAYOUT": str(root / "layout.json"), "APPLIANCE_DATA_DIR": root / "data"}


def fake_systemd_host(test, **settings) -> tuple[Path, FakeHelper]:
    """For the unittest ``test``: a systemd host's layout under a temporary root (removed
    after), the admin's settings pointing at it (and ``settings``), and a FakeHelper the apply
    runs and health-checks with; (root, helper)."""
    from appliance.deploy import apply as apply_module

    root = Path(tempfile.mkdtemp(prefix="appliance-test-"))
    test.addCleanup(shutil.rmtree, root, True)
    test.enterContext(override_settings(**systemd_layout(root), **settings))
    helper = FakeHelper()
    test.enterContext(mock.patch.object(apply_module, "run_helper", helper))
    test.enterContext(mock.patch.object(apply_module.health, "wait_healthy",
                                        helper.wait_healthy))
    return root, helper
