"""What the unapplied-changes tests share: a live revision of the catalogue as it stands, and
a layout under a temporary root (the revert takes the apply's lock in its data folder)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.test import override_settings

from appliance.catalogue.models import Revision, Skill
from appliance.deploy import revisions
from appliance.render.layout import paths_under, write_layout
from appliance.test import BaseTestCase

from .fakes import use_helper


class UnappliedTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        root = tempfile.TemporaryDirectory()
        self.addCleanup(root.cleanup)
        layout = Path(root.name) / "layout.json"
        write_layout(layout, paths_under(root.name), init_flavour="systemd")
        settings = override_settings(APPLIANCE_LAYOUT=str(layout))
        settings.enable()
        self.addCleanup(settings.disable)
        use_helper(self)
        self.quiz = Skill.objects.create(slug="quiz", name="Quiz", source="memory_game",
                                         port=8100)
        self.game = Skill.objects.create(slug="game", name="Game", source="memory_game",
                                         port=8101)
        self.live = self.applied(1)

    def applied(self, number: int) -> Revision:
        """A revision made from the catalogue as it is now, live."""
        return Revision.objects.create(
            number=number, outcome=Revision.APPLIED,
            catalogue={"format": revisions.CATALOGUE_FORMAT,
                       "rows": revisions.serialize_catalogue(), "sources": {}})
