"""The host settings form: a new domain, admin name or port is checked against the skills."""

import tempfile
from pathlib import Path

import pytest
from django.forms import model_to_dict
from django.test import override_settings

from appliance.catalogue.forms import HostSettingsForm
from appliance.catalogue.models import HostSettings, Skill
from appliance.render import Paths
from appliance.render.layout import write_layout
from appliance.test import BaseTestCase

pytestmark = pytest.mark.unit


class HostSettingsFormTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        Skill.objects.create(slug="quiz", name="Quiz", source="memory_game", port=8100)
        Skill.objects.create(slug="game", name="Game", source="memory_game", port=8150,
                             hostname="game.example.org", enabled=False)

    def errors(self, **changes):
        values = {k: v for k, v in model_to_dict(self.host).items() if v is not None}
        form = HostSettingsForm({**values, "duckdns_token": "", **changes}, instance=self.host)
        self.assertFalse(form.is_valid())
        self.assertEqual(HostSettings.objects.get().domain, "localhost")  # nothing saved
        return {field: " ".join(messages) for field, messages in form.errors.items()}

    def test_it_accepts_the_settings_as_they_are(self):
        values = {k: v for k, v in model_to_dict(self.host).items() if v is not None}
        form = HostSettingsForm({**values, "duckdns_token": ""}, instance=self.host)
        self.assertTrue(form.is_valid(), form.errors)

    def test_it_rejects_an_admin_host_name_a_skill_has(self):
        errors = self.errors(admin_hostname="quiz")
        self.assertIn("quiz.localhost is also skill quiz's host name",
                      str(errors["admin_hostname"]))

    def test_it_rejects_a_domain_that_puts_the_admin_on_a_skills_name(self):
        Skill.objects.create(slug="panel", name="Panel", source="memory_game", port=8101,
                             hostname="admin.example.org")
        errors = self.errors(domain="example.org")
        self.assertIn("admin.example.org is also skill panel's", str(errors["admin_hostname"]))

    def test_it_rejects_a_domain_that_puts_two_skills_on_one_name(self):
        Skill.objects.create(slug="trivia", name="Trivia", source="memory_game", port=8102,
                             hostname="quiz.example.org")
        errors = self.errors(domain="example.org")  # quiz's label meets trivia's full name
        self.assertIn("skill quiz and skill trivia would both be served at quiz.example.org",
                      str(errors["domain"]))

    def test_it_rejects_an_admin_port_a_skill_has(self):
        self.assertIn("used by quiz", str(self.errors(admin_port=8100)["admin_port"]))

    def test_it_rejects_an_admin_port_caddy_has(self):
        with tempfile.TemporaryDirectory() as directory:
            layout = Path(directory) / "layout.json"
            write_layout(layout, Paths(), https_port=8443)
            with override_settings(APPLIANCE_LAYOUT=str(layout)):
                errors = self.errors(admin_port=8443)
        self.assertIn("used by Caddy (https)", str(errors["admin_port"]))

    def test_it_rejects_a_range_that_leaves_a_skill_out(self):
        self.assertIn("quiz uses port 8100, below",
                      str(self.errors(port_range_start=8120)["port_range_start"]))
        self.assertIn("game uses port 8150, above",
                      str(self.errors(port_range_end=8140)["port_range_end"]))

    def test_it_rejects_reserving_a_skills_port(self):
        errors = self.errors(reserved_ports="2019,8150")
        self.assertIn("Port 8150 is used by game", str(errors["reserved_ports"]))

    def test_it_rejects_an_init_flavour_this_host_does_not_run(self):
        self.assertIn("This host runs systemd", str(self.errors(init_flavour="sysv")[
            "init_flavour"]))

    def test_it_rejects_an_email_caddy_cannot_take(self):
        errors = self.errors(acme_email="ops%team@example.org")
        self.assertIn("valid e-mail", str(errors["acme_email"]))
