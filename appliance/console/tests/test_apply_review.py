"""Review and apply (GET /apply/review/): the pending diff of the rendered files, one folded
block per file with its line counts, under the unapplied banner's words, and the confirmation
that carries what was reviewed. A secret's value is nowhere on the page."""

from django.urls import reverse

from appliance.catalogue.models import HostSettings, Revision, Skill

from .review_fixtures import API_KEY, ROTATED_API_KEY, ReviewTestCase

CADDYFILE = "/etc/caddy/Caddyfile"


class ApplyReviewTestCase(ReviewTestCase):
    def paths(self, r) -> dict:
        """The plan's files by their path on a host (the layout is under a temporary root)."""
        return {d.path.removeprefix(str(self.root)): d for d in r.context["plan"].diffs}

    def test_each_changed_file_is_folded_with_its_counts_under_the_banners_words(self):
        self.applied()
        self.set_port(8202)
        r = self.review(next="/admin/catalogue/skill/", reason="saved memory-game")
        self.assertEqual(r.status_code, 200)
        files = self.paths(r)
        self.assertEqual(files[CADDYFILE].status, "changed")
        self.assertEqual((files[CADDYFILE].added, files[CADDYFILE].removed), (1, 1))
        self.assertIn("/etc/systemd/system/alexa-skill-memory-game.service", files)
        self.assertContains(r, '<details class="file-diff file-changed">')
        self.assertContains(r, '<span class="count-add">+1</span> <span class="count-del">\u22121'
                               '</span>')
        self.assertContains(r, '<span class="add">+\treverse_proxy 127.0.0.1:8202\n</span>')
        self.assertContains(r, "Compared with")
        self.assertContains(r, "revision 1</a>, which is live")
        # The banner's words come first, then the files.
        page = r.content.decode()
        self.assertIn("skill memory-game</a>: changed: port", page)
        self.assertLess(page.index("Unapplied changes"), page.index('class="file-diffs"'))

    def test_the_confirmation_carries_the_plans_digest_the_way_back_and_the_reason(self):
        r = self.review(next="/admin/catalogue/skill/", reason="saved memory-game")
        digest = r.context["plan"].digest
        self.assertEqual(len(digest), 64)
        self.assertContains(r, f'action="{reverse("console:apply")}"')
        self.assertContains(r, f'<input type="hidden" name="digest" value="{digest}">')
        self.assertContains(r, '<input type="hidden" name="next" '
                               'value="/admin/catalogue/skill/">')
        self.assertContains(r, 'value="saved memory-game"')
        self.assertContains(r, 'value="Apply these changes"')

    def test_nothing_applied_yet_shows_every_file_as_new(self):
        r = self.review()
        self.assertContains(r, "Nothing was applied yet, so every file is new")
        self.assertEqual({d.status for d in r.context["plan"].diffs}, {"added"})

    def test_a_changed_secret_is_named_as_a_secret_file_and_its_value_is_nowhere(self):
        self.applied()
        self.game.secrets = {"API_KEY": ROTATED_API_KEY}
        self.game.save()
        r = self.review()
        env = self.paths(r)["/etc/appliance/skills/memory-game.env"]
        self.assertEqual((env.status, env.secret, env.lines), ("changed", True, ()))
        self.assertContains(r, '<span class="file-status">changed</span> <span '
                               'class="file-secret">(secret file, content not shown)</span>')
        for value in (API_KEY, ROTATED_API_KEY):
            self.assertNotContains(r, value)
        self.assertNotContains(r, "hmac-sha256:")  # not even the revision's reference

    def test_nothing_pending_says_so_and_still_offers_to_apply_again(self):
        self.applied()
        r = self.review()
        self.assertEqual(r.context["plan"].diffs, [])
        self.assertContains(r, "no rendered file changes")
        self.assertContains(r, "Nothing is pending")
        self.assertContains(r, 'value="Apply anyway"')

    def test_a_catalogue_that_does_not_render_says_why_and_offers_no_apply(self):
        host = HostSettings.load()
        host.init_flavour = "sysv"  # the layout says systemd
        host.save()
        r = self.review()
        self.assertContains(r, "The catalogue does not render, so nothing can be applied")
        self.assertContains(r, "this host runs systemd")
        self.assertNotContains(r, 'name="digest"')

    def test_a_way_back_to_another_site_is_the_dashboard(self):
        r = self.review(next="https://evil.example/")
        self.assertEqual(r.context["next"], reverse("console:dashboard"))
        self.assertNotContains(r, "evil.example")

    def test_it_reads_nothing_live_and_applies_nothing(self):
        self.review()
        self.assertEqual(self.helper, [])
        self.assertFalse(Revision.objects.exists())
        self.assertEqual(Skill.objects.get().port, 8101)

    def test_it_needs_staff_and_the_apply_permission(self):
        self.login(self.bob)
        self.assertEqual(self.review().status_code, 302)  # to the login page
        self.login(self.staff("catalogue.view_skill", "catalogue.view_revision"))
        self.assertEqual(self.review().status_code, 403)
        self.login(self.staff("catalogue.apply_revision", username="dave"))
        self.assertEqual(self.review().status_code, 200)
