import json
from unittest import mock

from django.urls import reverse

from appliance.catalogue.models import Skill
from appliance.console import applying
from appliance.test import MEMORY_GAME_MODEL, BaseTestCase


class ModelEditorTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.skill = Skill.objects.create(slug="memory-game", name="Memory Game",
                                          source="memory_game", port=8101)
        self.url = reverse("console:model", args=["memory-game"])
        self.login()

    def post(self, text, **extra):
        return self.client.post(self.url, {"interaction_model": text, "save": "Save", **extra},
                                follow=True)

    def test_it_starts_from_the_skills_own_model_and_lists_its_intents(self):
        r = self.client.get(self.url)
        self.assertContains(r, "This is the interaction model from the skill's folder.")
        self.assertContains(r, "<code>AnswerIntent</code>")
        self.assertContains(r, "first, second, third")

    def test_it_saves_a_valid_model(self):
        r = self.post(MEMORY_GAME_MODEL)
        self.assertContains(r, "Saved the interaction model of memory-game.")
        self.skill.refresh_from_db()
        self.assertEqual(json.loads(self.skill.interaction_model),
                         json.loads(MEMORY_GAME_MODEL))

    def test_it_rejects_json_that_does_not_parse(self):
        r = self.post("{not json")
        self.assertContains(r, "The interaction model is not JSON")
        self.skill.refresh_from_db()
        self.assertEqual(self.skill.interaction_model, "")

    def test_it_rejects_a_sample_naming_an_unknown_slot(self):
        model = json.loads(MEMORY_GAME_MODEL)
        model["interactionModel"]["languageModel"]["intents"][-1]["samples"].append(
            "{fourth} please")
        r = self.post(json.dumps(model))
        self.assertContains(r, "names the unknown slot {fourth}")
        self.skill.refresh_from_db()
        self.assertEqual(self.skill.interaction_model, "")

    def test_it_rejects_a_slot_of_an_unknown_type(self):
        model = json.loads(MEMORY_GAME_MODEL)
        model["interactionModel"]["languageModel"]["intents"][-1]["slots"][0]["type"] = "Digit"
        r = self.post(json.dumps(model))
        self.assertContains(r, "has the unknown type")

    def test_save_and_apply_saves_then_leads_to_the_review_and_back(self):
        with mock.patch("appliance.console.applying.apply_catalogue") as apply:
            r = self.post(MEMORY_GAME_MODEL, apply="Save and apply")
        apply.assert_not_called()
        self.skill.refresh_from_db()
        self.assertEqual(self.skill.interaction_model, MEMORY_GAME_MODEL)
        self.assertEqual(r.redirect_chain[0][0], applying.review_url(
            self.url, "interaction model of memory-game"))

    def test_it_is_for_staff_only(self):
        self.login(self.bob)
        self.post(MEMORY_GAME_MODEL)
        self.skill.refresh_from_db()
        self.assertEqual(self.skill.interaction_model, "")
