"""What the review-and-apply tests share: a systemd host's layout under a temporary root, the
real apply against a helper that records what it is asked (deploy.tests.fakes), and the skill
whose changes they review."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from unittest import mock

from django.test import override_settings
from django.urls import reverse

from appliance.catalogue.models import Revision, Skill
from appliance.deploy import apply as apply_module
from appliance.deploy.tests.fakes import FakeHelper, systemd_layout
from appliance.test import BaseTestCase

API_KEY = "old-api-key-51f0"
ROTATED_API_KEY = "rotated-api-key-9c2e"


class ReviewTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        root = self.root = Path(tempfile.mkdtemp(prefix="appliance-test-"))
        self.addCleanup(shutil.rmtree, root, True)
        self.enterContext(override_settings(**systemd_layout(root)))
        self.helper = FakeHelper()
        self.enterContext(mock.patch.object(apply_module, "run_helper", self.helper))
        self.enterContext(mock.patch.object(apply_module.health, "wait_healthy",
                                            self.helper.wait_healthy))
        self.game = Skill.objects.create(slug="memory-game", name="Memory Game",
                                         source="memory_game", port=8101,
                                         secrets={"API_KEY": API_KEY})
        self.login()

    def review(self, **query):
        return self.client.get(reverse("console:review"), query)

    def applied(self) -> Revision:
        """The catalogue as it stands, applied (through the fake helper)."""
        revision = apply_module.apply_catalogue(reason="live")
        assert revision.outcome == Revision.APPLIED, revision.messages
        self.helper.clear()
        return revision

    def set_port(self, port: int) -> None:
        self.game.port = port
        self.game.save()
