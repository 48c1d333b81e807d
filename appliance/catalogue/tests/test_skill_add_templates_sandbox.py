"""``manage.py skill_add --templates-file`` refuses, as the skill form and the templates editor
do, a template the skill's sandbox would refuse: a CommandError naming the template, and
nothing saved."""

import tempfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from appliance.catalogue.models import Skill
from appliance.test import BaseTestCase

from .test_skill_form_templates_sandbox import REFUSED, templates

pytestmark = pytest.mark.unit


class SkillAddTemplatesSandboxTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.folder = Path(self.enterContext(tempfile.TemporaryDirectory()))

    def add(self, text: str, *args: str) -> str:
        path = self.folder / "templates.yaml"
        path.write_text(text)
        out = StringIO()
        call_command("skill_add", "memory-game", *args, "--templates-file", str(path),
                     stdout=out)
        return out.getvalue()

    def test_a_refused_template_is_a_command_error_naming_it_and_nothing_is_saved(self):
        for name, template in REFUSED.items():
            with self.subTest(name), self.assertRaises(CommandError) as raised:
                self.add(templates(welcome="Hi!", **{name: template}),
                         "--source", "memory_game")
            message = str(raised.exception)
            self.assertIn("skill memory-game not saved: templates:", message)
            self.assertIn(f"Template '{name}': the skill's sandbox refuses it", message)
            self.assertEqual(Skill.objects.count(), 0)

    def test_an_existing_skill_keeps_its_templates(self):
        self.assertIn("changed:", self.add(templates(welcome="Hi!"), "--source", "memory_game"))
        with self.assertRaisesMessage(CommandError, "Template 'loops': the skill's sandbox"):
            self.add(templates(loops=REFUSED["loops"]))
        self.assertEqual(Skill.objects.get().templates, templates(welcome="Hi!").strip())
