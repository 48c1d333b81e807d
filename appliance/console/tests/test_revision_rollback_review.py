"""A rollback is an apply too: its confirmation page shows the diff of the rendered files the
rollback would install (the revision's catalogue restored as the rollback restores it, then put
back as it was), and the confirmation rolls back exactly that, or nothing."""

from django.urls import reverse

from appliance.catalogue.models import Revision, Skill
from appliance.console.review import CHANGED

from .review_fixtures import API_KEY, ROTATED_API_KEY, ReviewTestCase


class RollbackReviewTestCase(ReviewTestCase):
    def setUp(self):
        super().setUp()
        self.first = self.applied()
        self.set_port(8202)
        self.second = self.applied()
        self.url = reverse("admin:catalogue_revision_rollback", args=[self.first.pk])

    def test_it_shows_what_the_rollback_would_change_and_changes_nothing_yet(self):
        Skill.objects.create(slug="quiz", name="Quiz", source="memory_game", port=8103)
        r = self.client.get(self.url)
        self.assertContains(r, "What the rollback changes")
        self.assertContains(r, "compared with revision 2, which is live")
        self.assertContains(r, '<span class="del">-\treverse_proxy 127.0.0.1:8202\n</span>')
        self.assertContains(r, '<span class="add">+\treverse_proxy 127.0.0.1:8101\n</span>')
        self.assertContains(r, f'name="digest" value="{r.context["plan"].digest}"')
        for value in (API_KEY, ROTATED_API_KEY, "hmac-sha256:"):
            self.assertNotContains(r, value)
        # The restore it was rendered from is undone: the port, and the skill it would delete.
        self.assertEqual(Skill.objects.get(slug="memory-game").port, 8202)
        self.assertTrue(Skill.objects.filter(slug="quiz").exists())
        self.assertEqual(Revision.objects.count(), 2)
        self.assertEqual(self.helper, [])

    def test_the_confirmation_rolls_back_what_was_shown(self):
        digest = self.client.get(self.url).context["plan"].digest
        r = self.client.post(self.url, {"digest": digest}, follow=True)
        self.assertContains(r, "Revision 3 is applied.")
        third = Revision.objects.get(number=3)
        self.assertEqual((third.restored_from, third.reason),
                         (self.first, "rollback to revision 1"))
        self.assertIn("+\treverse_proxy 127.0.0.1:8101", third.diff)
        self.assertEqual(Skill.objects.get(slug="memory-game").port, 8101)

    def test_a_change_since_the_page_was_shown_rolls_back_nothing_and_shows_the_new_diff(self):
        digest = self.client.get(self.url).context["plan"].digest
        self.game.secrets = {"API_KEY": ROTATED_API_KEY}  # kept by a rollback: a new diff
        self.game.save()
        r = self.client.post(self.url, {"digest": digest})
        self.assertContains(r, CHANGED, status_code=409)
        self.assertContains(r, "(secret file, content not shown)", status_code=409)
        self.assertNotContains(r, ROTATED_API_KEY, status_code=409)
        self.assertEqual(Revision.objects.count(), 2)
        self.assertEqual(Skill.objects.get(slug="memory-game").port, 8202)  # not restored
        self.assertEqual(self.helper, [])

    def test_a_form_without_the_shown_digest_shows_the_diff_instead(self):
        r = self.client.post(self.url)
        self.assertContains(r, "review the changes first")
        self.assertContains(r, "What the rollback changes")
        self.assertEqual(Revision.objects.count(), 2)

    def test_a_revision_never_applied_offers_no_rollback(self):
        failed = Revision.objects.create(number=9, outcome=Revision.FAILED,
                                         catalogue=self.first.catalogue)
        r = self.client.get(reverse("admin:catalogue_revision_rollback", args=[failed.pk]))
        self.assertContains(r, "revision 9 was never applied")
        self.assertNotContains(r, 'name="digest"')
