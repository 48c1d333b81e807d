"""A logs page whose session ended: its refresh gets a 401 in JSON, not the login page's HTML,
and the page has the words and the link to sign in again."""

from django.urls import reverse

from appliance.catalogue.models import Skill
from appliance.test import BaseTestCase


class SessionEndTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        Skill.objects.create(slug="memory-game", name="Memory Game", source="memory_game",
                             port=8101)
        self.url = reverse("console:logs_data", args=["memory-game"])

    def test_a_signed_out_refresh_is_a_401_in_json_with_the_login_page(self):
        r = self.client.get(self.url, HTTP_ACCEPT="application/json")
        self.assertEqual(r.status_code, 401)
        self.assertEqual(r.json()["login"], reverse("admin:login"))
        self.assertIn("sign in again", r.json()["error"])

    def test_a_signed_out_page_is_still_sent_to_the_login_form(self):
        r = self.client.get(reverse("console:logs", args=["memory-game"]),
                            HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
        self.assertEqual(r.status_code, 302)
        self.assertTrue(r["Location"].startswith(reverse("admin:login")))

    def test_the_page_carries_the_sign_in_again_note_for_its_script(self):
        self.login()
        r = self.client.get(reverse("console:logs", args=["memory-game"]))
        self.assertContains(r, 'id="session-ended" hidden')
        self.assertContains(r, f'<a href="{reverse("admin:login")}?next=/logs/memory-game/">'
                               "sign in again</a>", html=False)
