"""The banner's revert: the catalogue's rows back to the live revision's, by POST only."""

from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from appliance.catalogue.models import HostSettings, Revision, Skill
from appliance.deploy.models import CatalogueChange

from .unapplied_fixtures import UnappliedTestCase

URL = reverse("console:revert")


class RevertTestCase(UnappliedTestCase):
    def setUp(self):
        super().setUp()
        # Unapplied: one skill changed, one removed, one added, the host's domain.
        Skill.objects.filter(slug="quiz").update(hostname="trivia", threads=8)
        Skill.objects.filter(slug="game").delete()
        Skill.objects.create(slug="new", name="New", source="memory_game", port=8102)
        HostSettings.objects.update(domain="example.org")

    def rows(self):
        return sorted(Skill.objects.values_list("slug", "hostname", "threads", "port"))

    def test_it_puts_the_live_catalogue_back_and_the_banner_goes(self):
        self.login()
        r = self.client.post(URL, {"next": reverse("admin:catalogue_skill_changelist")},
                             follow=True)
        self.assertEqual(self.rows(), [("game", "", 4, 8101), ("quiz", "", 4, 8100)])
        self.assertEqual(HostSettings.load().domain, "localhost")
        self.assertContains(r, "The catalogue is back to revision 1")
        self.assertNotContains(r, "Unapplied changes:")
        self.assertNotContains(self.client.get(reverse("console:dashboard")),
                               "Unapplied changes:")
        self.assertEqual(CatalogueChange.objects.get().who, "alice")

    def test_after_a_failed_apply_the_banner_goes_with_the_revert(self):
        Revision.objects.create(number=2, outcome=Revision.FAILED,
                                messages="quiz did not start: port 8100 is taken")
        self.login()
        self.assertContains(self.client.get(reverse("console:dashboard")), "failed on")
        r = self.client.post(URL, {"next": reverse("console:dashboard")}, follow=True)
        self.assertNotContains(r, "Unapplied changes:")

    def test_it_refuses_a_get(self):
        self.login()
        self.assertEqual(self.client.get(URL).status_code, 405)
        self.assertEqual(Skill.objects.get(slug="quiz").threads, 8)

    def test_it_refuses_a_post_without_the_csrf_token(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.alice)
        self.assertEqual(client.post(URL).status_code, 403)
        self.assertEqual(Skill.objects.get(slug="quiz").threads, 8)

    def test_it_takes_a_post_with_the_csrf_token(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.alice)
        client.get(reverse("console:dashboard"))  # sets the CSRF cookie
        token = client.cookies["csrftoken"].value
        self.assertEqual(client.post(URL, {"csrfmiddlewaretoken": token}).status_code, 302)
        self.assertEqual(Skill.objects.get(slug="quiz").threads, 4)

    def test_it_needs_the_permissions_to_change_skills_and_the_host(self):
        self.bob.is_staff = True
        self.bob.save()
        self.bob.user_permissions.add(*Permission.objects.filter(codename__in=[
            "view_skill", "change_skill"]))
        self.login(self.bob)
        self.assertEqual(self.client.post(URL).status_code, 403)
        self.assertEqual(Skill.objects.get(slug="quiz").threads, 8)
        self.assertNotContains(self.client.get(reverse("admin:catalogue_skill_changelist")),
                               "revert the catalogue")

    def test_it_is_refused_when_nothing_was_applied(self):
        self.live.delete()
        self.login()
        r = self.client.post(URL, follow=True)
        self.assertContains(r, "The revert was refused: nothing was applied yet")
        self.assertEqual(Skill.objects.get(slug="quiz").threads, 8)
