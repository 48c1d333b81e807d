"""The skill form refuses what the renderers (and the apply) would: clashes with the other rows."""

import tempfile
from pathlib import Path
from unittest import mock

import pytest
from django.test import override_settings

from appliance.catalogue.forms import SkillForm
from appliance.catalogue.models import HostSettings, Skill
from appliance.render import Paths
from appliance.render.layout import write_layout

from .conflicts_base import OtherSkillTestCase
from .test_skill_form import data

pytestmark = pytest.mark.unit


class SkillFormConflictsTestCase(OtherSkillTestCase):
    def errors(self, instance=None, **fields):
        form = SkillForm(data(**fields), instance=instance)
        self.assertFalse(form.is_valid())
        self.assertEqual(Skill.objects.count(), 1 if instance is None else 2)
        return {field: " ".join(messages) for field, messages in form.errors.items()}

    def test_it_rejects_the_admins_host_name(self):
        errors = self.errors(hostname="admin")
        self.assertIn("admin.localhost is the admin's host name", str(errors["hostname"]))

    def test_it_rejects_the_admins_full_host_name(self):
        errors = self.errors(hostname="admin.localhost")
        self.assertIn("the admin's host name", str(errors["hostname"]))

    def test_it_rejects_a_slug_that_makes_the_admins_host_name(self):
        errors = self.errors(slug="admin")
        self.assertIn("admin.localhost (from the slug) is the admin's", str(errors["hostname"]))

    def test_it_rejects_another_skills_host_name(self):
        errors = self.errors(hostname="quiz")
        self.assertIn("quiz.localhost is already skill quiz's host name",
                      str(errors["hostname"]))

    def test_it_rejects_another_skills_host_name_even_when_that_skill_is_disabled(self):
        Skill.objects.filter(slug="quiz").update(enabled=False)
        self.assertIn("skill quiz's", str(self.errors(hostname="quiz.localhost")["hostname"]))

    def test_it_rejects_a_host_name_change_onto_another_skill(self):
        game = Skill.objects.create(slug="game", name="Game", source="memory_game", port=8101)
        errors = self.errors(instance=game, slug="game", hostname="quiz")
        self.assertIn("skill quiz's host name", str(errors["hostname"]))
        self.assertEqual(Skill.objects.get(slug="game").hostname, "")

    def test_it_accepts_its_own_host_name_on_an_edit(self):
        quiz = Skill.objects.get(slug="quiz")
        form = SkillForm(data(slug="quiz", hostname="quiz", port=8100), instance=quiz)
        self.assertTrue(form.is_valid(), form.errors)

    def test_it_rejects_another_skills_port(self):
        self.assertIn("already used by quiz", str(self.errors(port=8100)["port"]))

    def test_it_rejects_caddys_ports_from_the_layout(self):
        with tempfile.TemporaryDirectory() as directory:
            layout = Path(directory) / "layout.json"
            write_layout(layout, Paths(), http_port=8180, https_port=8443,
                         caddy_admin="localhost:8119")
            with override_settings(APPLIANCE_LAYOUT=str(layout)):
                for port, user in [(8180, "Caddy (http)"), (8443, "Caddy (https)"),
                                   (8119, "Caddy's API")]:
                    self.assertIn(f"used by {user}", str(self.errors(port=port)["port"]))

    def test_it_never_allocates_a_caddy_port(self):
        HostSettings.objects.filter(pk=1).update(port_range_start=8100, port_range_end=8102)
        with tempfile.TemporaryDirectory() as directory:
            layout = Path(directory) / "layout.json"
            write_layout(layout, Paths(), https_port=8101)
            # Whatever else this machine happens to listen on is not what this is about.
            with override_settings(APPLIANCE_LAYOUT=str(layout)), mock.patch(
                    "appliance.catalogue.ports.port_in_use_on_host", return_value=False):
                skill = SkillForm(data()).save()
        self.assertEqual(skill.port, 8102)

    def test_it_rejects_a_name_on_two_lines(self):
        self.assertIn("one line of text", str(self.errors(name="Memory\tGame")["name"]))

    def test_it_rejects_a_source_with_a_control_character(self):
        self.assertIn("skill's folder", str(self.errors(source="memory_game\x1b")["source"]))

    def test_it_rejects_a_secret_named_like_an_environment_entry(self):
        errors = self.errors(environment_text="API_KEY=1", secrets_text="API_KEY=2")
        self.assertIn("API_KEY is in the environment too", str(errors["secrets_text"]))

    def test_it_rejects_an_environment_entry_named_like_a_saved_secret(self):
        quiz = Skill.objects.get(slug="quiz")
        quiz.secrets = {"API_KEY": "s"}
        quiz.save()
        form = SkillForm(data(slug="quiz", port=8100, environment_text="API_KEY=1"),
                         instance=quiz)
        self.assertFalse(form.is_valid())
        self.assertIn("API_KEY is in the environment too", " ".join(form.errors["secrets_text"]))
        self.assertEqual(Skill.objects.get(slug="quiz").environment, {})
