import shutil
import tempfile
from pathlib import Path

from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from appliance.catalogue.models import HostSettings, Skill
from appliance.render.layout import paths_under, write_layout
from appliance.test import BaseTestCase

from .fakes import FakeCaddy, FakeHelper, use_helper


class DashboardTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        Skill.objects.create(slug="memory-game", name="Memory Game", source="memory_game",
                             port=8101)
        Skill.objects.create(slug="lazy", name="Lazy", source="memory_game", port=8102,
                             on_demand=True)
        Skill.objects.create(slug="broken", name="Broken", source="memory_game", port=8103)
        self.helper = FakeHelper(states={"alexa-skill-memory-game": "active",
                                         "alexa-skill-lazy": "idle",
                                         "alexa-skill-broken": "failed", "caddy": "active"})
        use_helper(self, self.helper)
        self.login()

    def get(self):
        return self.client.get(reverse("console:dashboard"))

    def test_it_shows_each_skills_state_port_and_url(self):
        r = self.get()
        self.assertContains(r, '<span class="state state-running">running</span>', count=2)
        self.assertContains(r, '<span class="state state-idle">idle</span>')
        self.assertContains(r, '<span class="state state-failed">failed</span>')
        self.assertContains(r, "8102")
        self.assertContains(r, 'href="https://memory-game.localhost/"')
        self.assertContains(r, 'data-last-requests="/logs/last-requests.json"')
        self.assertContains(r, '<td class="last-request" data-slug="memory-game">')

    def test_it_asks_the_helper_once_for_every_state(self):
        self.get()
        self.assertEqual(self.helper.calls, [("status-all",)])

    def test_the_states_are_reused_for_a_few_seconds(self):
        self.get()
        self.get()
        self.assertEqual(self.helper.count("status-all"), 1)
        cache.clear()  # what the few seconds' expiry does
        self.get()
        self.assertEqual(self.helper.count("status-all"), 2)

    def test_a_new_revision_asks_again_at_once(self):
        from appliance.catalogue.models import Revision

        self.get()
        revision = Revision.objects.create(number=1, outcome=Revision.PENDING)
        self.get()
        revision.outcome = Revision.APPLIED
        revision.save()
        self.get()
        self.assertEqual(self.helper.count("status-all"), 3)

    def test_a_failing_helper_shows_unknown_not_an_error_page(self):
        self.helper.broken.add("*")
        r = self.get()
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, '<span class="state state-unknown">unknown</span>', count=4)
        self.get()
        self.assertEqual(self.helper.count("status-all"), 1)  # a failure is not retried at once

    def test_a_state_the_ui_does_not_know_is_unknown(self):
        self.helper.states["alexa-skill-memory-game"] = "<b>exploded</b>"
        r = self.get()
        self.assertNotContains(r, "exploded")
        self.assertContains(r, '<span class="state state-unknown">unknown</span>', count=1)

    def test_a_skill_the_host_does_not_have_is_stopped(self):
        Skill.objects.create(slug="new", name="New", source="memory_game", port=8104)
        r = self.get()
        self.assertContains(r, '<span class="state state-stopped">stopped</span>', count=1)

    def test_it_shows_the_host_and_the_duckdns_result(self):
        HostSettings.objects.filter(pk=1).update(
            domain="example.duckdns.org", duckdns_domains="example",
            duckdns_token="0" * 8 + "-0000-0000-0000-" + "0" * 12)
        # The updater writes in root's folder of the host's layout, not in the admin's.
        root = Path(tempfile.mkdtemp(prefix="appliance-dashboard-"))
        self.addCleanup(shutil.rmtree, root)
        paths = paths_under(root)
        write_layout(root / "layout.json", paths)
        result = Path(paths.duckdns_dir) / "last-result"
        result.parent.mkdir(parents=True)
        result.write_text("KO")
        with self.settings(APPLIANCE_LAYOUT=str(root / "layout.json")):
            r = self.get()
        self.assertContains(r, "https://admin.example.duckdns.org/")
        self.assertContains(r, '<span class="state state-failed">KO</span>')
        self.assertContains(r, "Caddy&#x27;s internal CA")

    def test_duckdns_unused_says_so(self):
        self.assertContains(self.get(), "not used")

    def test_it_reads_the_certificate_caddy_serves_for_each_skill(self):
        with FakeCaddy() as caddy, override_settings(APPLIANCE_LAYOUT=str(caddy.layout)):
            r = self.get()
        self.assertIn("memory-game.localhost", caddy.server_names)
        self.assertIn("admin.localhost", caddy.server_names)
        self.assertContains(r, "Fake Caddy · fake caddy")
        self.assertContains(r, '<span class="state state-running">valid</span>')

    def test_the_certificates_are_read_once_for_a_while(self):
        with FakeCaddy() as caddy, override_settings(APPLIANCE_LAYOUT=str(caddy.layout)):
            self.get()
            handshakes = len(caddy.server_names)
            r = self.get()
        self.assertEqual(handshakes, 4)  # three skills and the admin
        self.assertEqual(len(caddy.server_names), handshakes)
        self.assertContains(r, "Fake Caddy · fake caddy")

    def test_no_proxy_listening_shows_no_certificate(self):
        r = self.get()
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "no certificate")

    def test_it_is_for_staff_only(self):
        self.login(self.bob)
        self.assertEqual(self.get().status_code, 302)
        self.client.logout()
        r = self.get()
        self.assertRedirects(r, "/admin/login/?next=/", fetch_redirect_response=False)
