from unittest import mock

from django.urls import reverse

from appliance.catalogue.models import Revision
from appliance.deploy.apply import ApplyBusy
from appliance.test import BaseTestCase


class ApplyTestCase(BaseTestCase):
    url = reverse("console:apply")

    def setUp(self):
        super().setUp()
        self.login()

    def apply(self, outcome=Revision.APPLIED, **kwargs):
        revision = Revision.objects.create(number=7, outcome=outcome,
                                           messages="Caddy did not take it")
        with mock.patch("appliance.console.applying.apply_catalogue",
                        return_value=revision, **kwargs) as apply:
            r = self.client.post(self.url, {"next": "/admin/"}, follow=True)
        return r, apply

    def test_it_applies_and_says_which_revision_is_live(self):
        r, apply = self.apply()
        apply.assert_called_once_with(user=self.alice, reason="applied from the admin")
        self.assertContains(r, "Revision 7 is applied.")
        self.assertEqual(r.redirect_chain[0][0], "/admin/")

    def test_a_failed_apply_says_why_and_that_the_old_config_serves(self):
        r, _ = self.apply(outcome=Revision.FAILED)
        self.assertContains(r, "Revision 7 failed; the previous configuration keeps serving.")
        self.assertContains(r, "Caddy did not take it")

    def test_a_second_apply_is_told_one_is_running(self):
        r, _ = self.apply(side_effect=ApplyBusy("another apply is running"))
        self.assertContains(r, "Another apply is running; nothing was changed.")

    def test_an_unexpected_error_is_a_message(self):
        r, _ = self.apply(side_effect=RuntimeError("disk full"))
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "unexpected error (RuntimeError: disk full)")

    def test_it_goes_back_only_to_this_site(self):
        with mock.patch("appliance.console.applying.apply_catalogue",
                        side_effect=ApplyBusy("busy")):
            r = self.client.post(self.url, {"next": "https://evil.example/"})
        self.assertRedirects(r, "/", fetch_redirect_response=False)

    def test_it_takes_only_posts(self):
        self.assertEqual(self.client.get(self.url).status_code, 405)

    def test_it_is_for_staff_only(self):
        self.login(self.bob)
        with mock.patch("appliance.console.applying.apply_catalogue") as apply:
            self.client.post(self.url)
        apply.assert_not_called()
