"""What the review-and-apply tests share: a systemd host's layout under a temporary root, the
real apply against a helper that records what it is asked (deploy.tests.fakes), and the skill
whose changes they review."""

from __future__ import annotations

from django.urls import reverse

from appliance.catalogue.models import Revision, Skill
from appliance.deploy import apply as apply_module
from appliance.deploy.tests.fakes import fake_systemd_host
from appliance.test import BaseTestCase

API_KEY = "old-api-key-51f0"
ROTATED_API_KEY = "rotated-api-key-9c2e"


class ReviewTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.root, self.helper = fake_systemd_host(self)
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
