from unittest import mock

from django.urls import reverse

from appliance.catalogue.models import Skill
from appliance.console import applying
from appliance.test import BaseTestCase


class TemplatesEditorTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.skill = Skill.objects.create(slug="memory-game", name="Memory Game",
                                          source="memory_game", port=8101)
        self.url = reverse("console:templates", args=["memory-game"])
        self.login()

    def post(self, text, **extra):
        return self.client.post(self.url, {"templates": text, **extra}, follow=True)

    def test_it_starts_from_the_skills_own_templates_with_a_preview(self):
        r = self.client.get(self.url)
        self.assertContains(r, "These are the templates from the skill's folder.")
        self.assertContains(r, "Welcome to memory game.")
        # numbers|join shows the sample list
        self.assertContains(r, "Can you repeat the numbers 1, 2, 3 backwards?")

    def test_the_preview_shows_unknown_variables_by_name(self):
        r = self.post("greet: Hello {{ user }}, say {{ numbers|join(' and ') }}",
                      preview="Preview")
        self.assertContains(r, "Hello \u2039user\u203a, say 1 and 2 and 3")
        self.skill.refresh_from_db()
        self.assertEqual(self.skill.templates, "")

    def test_a_template_that_cannot_render_says_why_in_the_preview(self):
        r = self.post("count: You have {{ points + 1 }} points\n", preview="Preview")
        self.assertContains(r, "cannot preview: &#x27;points&#x27; is undefined")

    def test_the_preview_escapes_html(self):
        r = self.post("x: <script>alert(1)</script>", preview="Preview")
        self.assertContains(r, "&lt;script&gt;alert(1)&lt;/script&gt;")
        self.assertNotContains(r, "<script>alert(1)")

    def test_it_saves_valid_templates(self):
        r = self.post("welcome: Hi there!\n", save="Save")
        self.assertContains(r, "Saved the templates of memory-game. Apply to put it live.")
        self.skill.refresh_from_db()
        self.assertEqual(self.skill.templates, "welcome: Hi there!\n")

    def test_it_rejects_invalid_yaml_and_saves_nothing(self):
        r = self.post("welcome: [unclosed\n", save="Save")
        self.assertContains(r, "templates.yaml is not valid YAML")
        self.assertContains(r, "Nothing was saved")
        self.skill.refresh_from_db()
        self.assertEqual(self.skill.templates, "")

    def test_it_rejects_a_broken_jinja_template(self):
        r = self.post("welcome: Hi {{ name\n", save="Save")
        self.assertContains(r, "Template &#x27;welcome&#x27;")
        self.skill.refresh_from_db()
        self.assertEqual(self.skill.templates, "")

    def test_it_rejects_a_list_instead_of_a_mapping(self):
        r = self.post("- one\n- two\n", save="Save")
        self.assertContains(r, "must map template names to text")

    def test_save_and_apply_saves_then_leads_to_the_review_and_back(self):
        with mock.patch("appliance.console.applying.apply_catalogue") as apply:
            r = self.post("welcome: Hi!\n", apply="Save and apply")
        apply.assert_not_called()
        self.skill.refresh_from_db()
        self.assertEqual(self.skill.templates, "welcome: Hi!\n")
        self.assertEqual(r.redirect_chain[0][0],
                         applying.review_url(self.url, "templates of memory-game"))
        self.assertContains(r, "Saved the templates of memory-game. Review the changes")
        self.assertContains(r, "+welcome: Hi!")  # the templates' copy, in the pending diff

    def test_an_unknown_skill_is_404(self):
        self.assertEqual(self.client.get("/skills/nope/templates/").status_code, 404)

    def test_it_is_for_staff_only(self):
        self.login(self.bob)
        self.post("welcome: Hi!\n", save="Save")
        self.skill.refresh_from_db()
        self.assertEqual(self.skill.templates, "")
