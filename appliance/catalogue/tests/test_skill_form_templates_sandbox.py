"""The skill form checks templates in the skill's own sandbox, as the templates editor does: a
template the skill would refuse (Python reached through it, unbounded work) is an error on the
templates field naming that template, quickly, and nothing is saved."""

import time

import pytest

from appliance.catalogue.forms import SkillForm
from appliance.catalogue.models import Skill
from appliance.test import BaseTestCase

from .test_skill_form import data

pytestmark = pytest.mark.unit

REFUSED = {
    "mro": "{{ ''.__class__.__mro__ }}",
    "loops": "{% for a in range(10**6) %}{% for b in range(10**6) %}x{% endfor %}{% endfor %}",
}


def templates(**entries: str) -> str:
    return "".join(f"{name}: {template!r}\n".replace("\\'", "''")
                   for name, template in entries.items())


class SkillFormTemplatesSandboxTestCase(BaseTestCase):
    def test_a_template_the_sandbox_refuses_is_a_field_error_naming_it(self):
        for name, template in REFUSED.items():
            with self.subTest(name):
                started = time.perf_counter()
                form = SkillForm(data(templates=templates(welcome="Hi!", **{name: template})))
                self.assertFalse(form.is_valid())
                self.assertLess(time.perf_counter() - started, 5.0)
                errors = " ".join(form.errors["templates"])
                self.assertIn(f"Template '{name}': the skill's sandbox refuses it", errors)
                self.assertNotIn("'welcome'", errors)
                self.assertEqual(Skill.objects.count(), 0)

    def test_an_existing_skills_templates_stay_as_they_were(self):
        skill = Skill.objects.create(slug="memory-game", name="Memory Game",
                                     source="memory_game", port=8101, templates="a: b\n")
        form = SkillForm(data(templates=templates(mro=REFUSED["mro"]), port=8101),
                         instance=skill)
        self.assertFalse(form.is_valid())
        self.assertIn("templates", form.errors)
        skill.refresh_from_db()
        self.assertEqual(skill.templates, "a: b\n")

    def test_templates_the_sandbox_runs_are_saved(self):
        text = templates(round="Repeat {{ numbers|join(', ') }}", hi="Hi {{ name }}!")
        form = SkillForm(data(templates=text))
        self.assertTrue(form.is_valid(), form.errors)
        self.assertEqual(form.save().templates, text.strip())  # the form strips the end
