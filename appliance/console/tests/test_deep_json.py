"""Deeply nested JSON (Python's parser raises RecursionError at about a thousand levels) is a
form error naming the problem in every importer and editor, never a 500, and nothing is saved."""

import json
import tempfile

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from appliance.catalogue import interaction
from appliance.catalogue.forms import SkillForm
from appliance.catalogue.models import Skill
from appliance.test import MEMORY_GAME_MODEL, BaseTestCase

from .test_package_import import make_zip, package

NESTED = "nested more than 64 levels deep"


def deep_inside_a_model(levels: int) -> str:
    """The Memory Game's model with one sample value buried ``levels`` lists deep."""
    model = json.loads(MEMORY_GAME_MODEL)
    buried = "yes"
    for _ in range(levels):
        buried = [buried]
    model["interactionModel"]["languageModel"]["intents"][0]["extra"] = buried
    return json.dumps(model)


DEEP = {
    "a hundred thousand brackets": "[" * 100000,
    "objects 5000 deep": '{"a":' * 5000 + "1" + "}" * 5000,
    "a valid model with 100 levels inside": deep_inside_a_model(100),
}


class DeepJsonTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.skill = Skill.objects.create(slug="memory-game", name="Memory Game",
                                          source="memory_game", port=8101)
        self.login()

    def assert_nothing_saved(self):
        self.skill.refresh_from_db()
        self.assertEqual((self.skill.interaction_model, self.skill.templates), ("", ""))

    def test_the_model_editor_refuses_it_with_a_form_error(self):
        url = reverse("console:model", args=["memory-game"])
        for case, text in DEEP.items():
            with self.subTest(case):
                r = self.client.post(url, {"interaction_model": text, "save": "Save"})
                self.assertContains(r, NESTED)
                self.assert_nothing_saved()

    def test_the_package_import_refuses_a_deep_en_us_json(self):
        url = reverse("console:package_import", args=["memory-game"])
        for case, text in DEEP.items():
            with self.subTest(case):
                upload = SimpleUploadedFile("p.zip", make_zip(package(model=text)))
                r = self.client.post(url, {"package": upload})
                self.assertContains(r, f"en-US.json: The interaction model is {NESTED}",
                                    status_code=400)
                self.assert_nothing_saved()

    def test_the_package_import_refuses_a_deep_skill_json(self):
        url = reverse("console:package_import", args=["memory-game"])
        entries = package()
        entries["skill-package/skill.json"] = '{"manifest": ' + "[" * 100000
        r = self.client.post(url, {"package": SimpleUploadedFile("p.zip", make_zip(entries))})
        self.assertContains(r, f"skill.json is {NESTED}", status_code=400)
        self.assert_nothing_saved()

    def test_the_skill_form_and_skill_add_refuse_it(self):
        for case, text in DEEP.items():
            with self.subTest(case):
                form = SkillForm({"slug": "deep", "name": "Deep", "source_kind": "bundled",
                                  "source": "memory_game", "enabled": "on", "threads": 4,
                                  "idle_exit": 300, "interaction_model": text})
                form.check_source = False  # the import check is beside the point here
                self.assertFalse(form.is_valid())
                self.assertIn(NESTED, " ".join(form.errors["interaction_model"]))
        with tempfile.NamedTemporaryFile("w", suffix=".json") as model_file:
            model_file.write(DEEP["objects 5000 deep"])
            model_file.flush()
            with self.assertRaisesMessage(CommandError, NESTED):
                call_command("skill_add", "deep", "--source", "memory_game",
                             "--model-file", model_file.name)
        self.assertFalse(Skill.objects.filter(slug="deep").exists())

    def test_the_test_consoles_matcher_finds_nothing_in_json_too_deep_to_parse(self):
        for case in ("a hundred thousand brackets", "objects 5000 deep"):
            with self.subTest(case):
                self.assertIsNone(interaction.match_utterance(DEEP[case], "yes"))

    def test_a_model_nested_as_deep_as_alexas_own_is_still_taken(self):
        url = reverse("console:model", args=["memory-game"])
        self.client.post(url, {"interaction_model": deep_inside_a_model(10), "save": "Save"})
        self.skill.refresh_from_db()
        self.assertIn('"extra"', self.skill.interaction_model)
