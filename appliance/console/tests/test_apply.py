"""The review page's confirmation (POST /apply/): it applies exactly what was reviewed, or
nothing and the new diff; the outcome in words; back to where the operator came from."""

from unittest import mock

from django.urls import reverse

from appliance.catalogue.models import Revision, Skill
from appliance.console.review import CHANGED, UNREVIEWED
from appliance.deploy.apply import ApplyBusy

from .review_fixtures import ReviewTestCase


class ApplyTestCase(ReviewTestCase):
    url = reverse("console:apply")

    def digest(self) -> str:
        return self.review().context["plan"].digest

    def post(self, **data):
        return self.client.post(self.url, {"next": "/admin/", **data})

    def mocked(self, outcome=Revision.APPLIED, **kwargs):
        revision = Revision.objects.create(number=7, outcome=outcome,
                                           messages="Caddy did not take it")
        with mock.patch("appliance.console.applying.apply_catalogue",
                        return_value=revision, **kwargs) as apply:
            r = self.client.post(self.url, {"next": "/admin/", "digest": "d" * 64},
                                 follow=True)
        return r, apply

    def test_the_reviewed_changes_are_applied_and_the_live_revision_named(self):
        r = self.client.post(self.url, {"next": "/admin/", "digest": self.digest(),
                                        "reason": "new port"}, follow=True)
        revision = Revision.objects.get()
        self.assertEqual((revision.outcome, revision.reason), (Revision.APPLIED, "new port"))
        self.assertIn("install", self.helper)
        self.assertContains(r, "Revision 1 is applied.")
        self.assertEqual(r.redirect_chain[0][0], "/admin/")

    def test_without_a_reason_the_revision_says_it_came_from_the_admin(self):
        self.post(digest=self.digest())
        self.assertEqual(Revision.objects.get().reason, "applied from the admin")

    def test_a_change_since_the_review_is_not_applied_and_the_new_diff_is_shown(self):
        self.applied()
        reviewed = self.digest()
        self.set_port(8202)
        r = self.post(digest=reviewed)
        self.assertContains(r, CHANGED, status_code=409)
        self.assertContains(r, "+\treverse_proxy 127.0.0.1:8202", status_code=409)
        self.assertEqual(Revision.objects.count(), 1)
        self.assertEqual(self.helper, [])  # nothing was asked of root
        # The new diff's own confirmation applies it.
        r = self.client.post(self.url, {"next": "/admin/", "digest": r.context["plan"].digest},
                             follow=True)
        self.assertContains(r, "Revision 2 is applied.")

    def test_another_apply_since_the_review_counts_as_a_change(self):
        reviewed = self.digest()
        self.applied()  # the same catalogue, but the diff was taken against nothing
        r = self.post(digest=reviewed)
        self.assertEqual(r.status_code, 409)
        self.assertEqual(Revision.objects.count(), 1)

    def test_a_catalogue_that_no_longer_renders_is_a_change_and_no_failed_revision(self):
        reviewed = self.digest()
        Skill.objects.filter(pk=self.game.pk).update(hostname="admin")  # the admin's name
        r = self.post(digest=reviewed)
        self.assertContains(r, "The catalogue does not render", status_code=409)
        self.assertFalse(Revision.objects.exists())

    def test_a_form_without_the_reviewed_digest_shows_the_review_instead(self):
        r = self.post()
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, UNREVIEWED)
        self.assertContains(r, 'name="digest"')
        self.assertFalse(Revision.objects.exists())
        self.assertEqual(self.helper, [])

    def test_the_apply_is_given_the_reviewed_digest(self):
        _, apply = self.mocked()
        apply.assert_called_once_with(user=self.alice, reason="applied from the admin",
                                      expected="d" * 64)

    def test_a_failed_apply_says_why_and_that_the_old_config_serves(self):
        r, _ = self.mocked(outcome=Revision.FAILED)
        self.assertContains(r, "Revision 7 failed; the previous configuration keeps serving.")
        self.assertContains(r, "Caddy did not take it")

    def test_a_second_apply_is_told_one_is_running(self):
        r, _ = self.mocked(side_effect=ApplyBusy("another apply is running"))
        self.assertContains(r, "Another apply is running; nothing was changed.")

    def test_an_unexpected_error_is_a_message(self):
        r, _ = self.mocked(side_effect=RuntimeError("disk full"))
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "unexpected error (RuntimeError: disk full)")

    def test_it_goes_back_only_to_this_site(self):
        with mock.patch("appliance.console.applying.apply_catalogue",
                        side_effect=ApplyBusy("busy")):
            r = self.client.post(self.url, {"next": "https://evil.example/", "digest": "d"})
        self.assertRedirects(r, "/", fetch_redirect_response=False)

    def test_it_takes_only_posts(self):
        self.assertEqual(self.client.get(self.url).status_code, 405)

    def test_it_needs_staff_and_the_apply_permission(self):
        digest = self.digest()
        self.login(self.bob)
        self.assertEqual(self.post(digest=digest).status_code, 302)  # to the login page
        self.login(self.staff("catalogue.view_skill", "catalogue.change_skill"))
        self.assertEqual(self.post(digest=digest).status_code, 403)
        self.assertFalse(Revision.objects.exists())
