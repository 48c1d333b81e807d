from unittest import mock

from django.urls import reverse

from appliance.catalogue.models import Revision
from appliance.deploy.apply import ApplyBusy
from appliance.test import BaseTestCase

from .review_fixtures import API_KEY, ROTATED_API_KEY, ReviewTestCase

DIFF = """--- /etc/caddy/Caddyfile
+++ /etc/caddy/Caddyfile
@@ -1,2 +1,2 @@
-old.localhost {
+<script>alert(1)</script> {
 \treverse_proxy 127.0.0.1:8101
"""


class RevisionAdminTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.old = Revision.objects.create(number=1, outcome=Revision.SUPERSEDED,
                                           reason="first", created_by=self.alice)
        self.new = Revision.objects.create(
            number=2, outcome=Revision.APPLIED, reason="templates of memory-game", diff=DIFF,
            messages="installed 3 files\nrestarted memory-game",
            files={"/etc/appliance/skills/one.env": {"content": 'API_KEY="s3cr3t-value"'}})
        self.login()

    def test_the_list_shows_number_who_outcome_and_reason(self):
        r = self.client.get(reverse("admin:catalogue_revision_changelist"))
        self.assertContains(r, "templates of memory-game")
        self.assertContains(r, '<span class="state state-running">applied</span>')
        self.assertContains(r, "alice")

    def test_the_detail_shows_a_colored_escaped_diff_and_the_messages(self):
        r = self.client.get(reverse("admin:catalogue_revision_change", args=[self.new.pk]))
        self.assertContains(r, '<span class="del">-old.localhost {\n</span>', html=False)
        self.assertContains(r, '<span class="add">+&lt;script&gt;alert(1)&lt;/script&gt; {')
        self.assertNotContains(r, "<script>alert(1)")
        self.assertContains(r, "restarted memory-game")

    def test_the_detail_never_shows_the_files_secrets(self):
        r = self.client.get(reverse("admin:catalogue_revision_change", args=[self.new.pk]))
        self.assertNotContains(r, "s3cr3t-value")

    def test_revisions_are_read_only(self):
        self.assertEqual(self.client.get(reverse("admin:catalogue_revision_add")).status_code,
                         403)
        r = self.client.post(reverse("admin:catalogue_revision_change", args=[self.new.pk]),
                             {"reason": "changed"})
        self.assertEqual(r.status_code, 403)
        r = self.client.post(reverse("admin:catalogue_revision_delete", args=[self.new.pk]))
        self.assertEqual(r.status_code, 403)

    def test_rollback_asks_for_confirmation_first(self):
        url = reverse("admin:catalogue_revision_rollback", args=[self.old.pk])
        detail = self.client.get(reverse("admin:catalogue_revision_change", args=[self.old.pk]))
        self.assertContains(detail, f'href="{url}"')
        with mock.patch("appliance.console.applying.rollback_to") as rollback:
            r = self.client.get(url)
        rollback.assert_not_called()
        self.assertContains(r, "Roll back to revision 1?")
        self.assertContains(r, "csrfmiddlewaretoken")

    def test_rollback_after_confirming_calls_the_deploy_step(self):
        restored = Revision.objects.create(number=3, outcome=Revision.APPLIED)
        with mock.patch("appliance.console.applying.rollback_to",
                        return_value=restored) as rollback:
            r = self.client.post(reverse("admin:catalogue_revision_rollback",
                                         args=[self.old.pk]), {"digest": "d" * 64}, follow=True)
        rollback.assert_called_once_with(self.old, self.alice, expected="d" * 64)
        self.assertContains(r, "Revision 3 is applied.")

    def test_a_busy_rollback_is_a_message(self):
        with mock.patch("appliance.console.applying.rollback_to",
                        side_effect=ApplyBusy("busy")):
            r = self.client.post(reverse("admin:catalogue_revision_rollback",
                                         args=[self.old.pk]), {"digest": "d" * 64}, follow=True)
        self.assertContains(r, "Another apply is running")

    def test_a_rollback_the_deploy_step_refuses_is_a_message(self):
        failed = Revision.objects.create(number=9, outcome=Revision.FAILED)
        with mock.patch("appliance.console.applying.rollback_to",
                        side_effect=ValueError("revision 9 was never applied")):
            r = self.client.post(reverse("admin:catalogue_revision_rollback",
                                         args=[failed.pk]), {"digest": "d" * 64}, follow=True)
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "revision 9 was never applied")

    def test_it_is_for_staff_only(self):
        self.login(self.bob)
        with mock.patch("appliance.console.applying.rollback_to") as rollback:
            self.client.post(reverse("admin:catalogue_revision_rollback", args=[self.old.pk]),
                             {"digest": "d" * 64})
        rollback.assert_not_called()


class RevisionDiffTestCase(ReviewTestCase):
    """The revision page shows the diff the revision applied, as the review page showed it
    before: one folded block per file, against the revision live before it."""

    def page(self, revision):
        return self.client.get(reverse("admin:catalogue_revision_change", args=[revision.pk]))

    def test_it_shows_what_it_changed_against_the_revision_live_before_it(self):
        self.applied()
        self.set_port(8202)
        self.game.secrets = {"API_KEY": ROTATED_API_KEY}
        self.game.save()
        second = self.applied()
        r = self.page(second)
        self.assertContains(r, "What it changed, against the revision live before it:")
        self.assertContains(r, '<details class="file-diff file-changed">')
        self.assertContains(r, '<span class="del">-\treverse_proxy 127.0.0.1:8101\n</span>')
        self.assertContains(r, '<span class="add">+\treverse_proxy 127.0.0.1:8202\n</span>')
        self.assertContains(r, "(secret file, content not shown)")
        # Not the whole configuration: the admin's own unit did not change.
        self.assertNotContains(r, "appliance-admin.service")
        for value in (API_KEY, ROTATED_API_KEY, "hmac-sha256:"):
            self.assertNotContains(r, value)

    def test_the_first_revision_shows_every_file_it_added(self):
        first = self.applied()
        r = self.page(first)
        self.assertContains(r, '<details class="file-diff file-added">')
        self.assertContains(r, "appliance-admin.service")

    def test_a_diff_text_that_does_not_read_back_is_shown_as_it_is(self):
        odd = Revision.objects.create(number=5, outcome=Revision.FAILED,
                                      diff="something else entirely\n")
        r = self.page(odd)
        self.assertContains(r, '<pre class="diff"><span class="ctx">something else entirely')
