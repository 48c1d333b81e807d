"""The voice check says what is true for this host: a login command that runs when pasted (the
admin's venv, its user, its token store, the options login needs), DuckDNS only where the host
uses it, and that Alexa's cloud can never reach a name that only exists on this machine."""

import shlex
import tempfile
from unittest import mock

from django.test import override_settings
from django.urls import reverse

from appliance.catalogue.models import HostSettings, Skill
from appliance.render.layout import Paths, write_layout
from appliance.test import BaseTestCase

from ..voicecheck import run_check


class VoiceHintTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.skill = Skill.objects.create(slug="memory-game", name="Memory Game",
                                          source="memory_game", port=8101)
        self.tmp = self.enterContext(tempfile.TemporaryDirectory())
        layout = f"{self.tmp}/layout.json"
        write_layout(layout, Paths(venv="/opt/appliance/venv"), https_port=443,
                     init_flavour="systemd")
        self.enterContext(override_settings(APPLIANCE_LAYOUT=layout,
                                            APPLIANCE_AVS_CONFIG=f"{self.tmp}/avs.json"))
        self.url = reverse("console:voice_check", args=["memory-game"])
        self.login()

    def public_host(self, **changes):
        HostSettings.objects.filter(pk=self.host.pk).update(
            domain="myskills.duckdns.org", certificate_authority="letsencrypt",
            acme_email="ops@example.org", **changes)

    def test_the_login_command_uses_the_admins_venv_user_store_and_the_needed_options(self):
        r = self.client.get(self.url)
        command = r.context["login_command"]
        argv = shlex.split(command)
        self.assertEqual(argv[:2], ["sudo", "-u"])
        self.assertEqual(argv[3:9], ["/opt/appliance/venv/bin/python", "-m", "skills", "avs",
                                     "login", "--config"])
        self.assertEqual(argv[9], f"{self.tmp}/avs.json")
        self.assertIn("--client-id", argv)
        self.assertIn("--product-id", argv)
        self.assertNotIn("python -m skills", command.replace("bin/python -m", ""))
        self.assertContains(r, f'<pre class="command" id="login-command">{command}</pre>',
                            html=False)

    def test_a_localhost_skill_is_said_to_be_unreachable_by_alexas_cloud(self):
        r = self.client.get(self.url)
        self.assertContains(r, "cloud can never reach memory-game.localhost: the name only exists")
        self.assertNotContains(r, "DuckDNS")

    def test_a_public_host_without_duckdns_names_neither_duckdns_nor_a_problem(self):
        self.public_host()
        r = self.client.get(self.url)
        self.assertNotContains(r, 'id="unreachable"')
        self.assertNotContains(r, "DuckDNS")
        self.assertContains(r, "Alexa → Caddy → the skill")

    def test_a_duckdns_host_names_duckdns_on_the_way(self):
        self.public_host(duckdns_domains="myskills", duckdns_token="a" * 36)
        r = self.client.get(self.url)
        self.assertContains(r, "Alexa → DuckDNS → Caddy → the skill")

    def test_running_it_unlinked_gives_the_same_working_command(self):
        result = run_check(self.skill)
        message = result["message"]
        self.assertEqual(result["link"], "avs")
        self.assertIn("/opt/appliance/venv/bin/python -m skills avs login --config", message)
        self.assertIn("--client-id YOUR_CLIENT_ID --product-id YOUR_PRODUCT_ID", message)

    def test_a_skill_not_reached_on_a_plain_host_gets_a_hint_without_duckdns(self):
        self.public_host()
        answer = mock.Mock(audio=[], text="Here's memory game.", heard_nothing=False)
        with mock.patch("appliance.console.voicecheck.token_store") as store, \
                mock.patch("appliance.console.voicecheck._ask", mock.Mock()), \
                mock.patch("appliance.console.voicecheck.asyncio.run", return_value=answer), \
                mock.patch("appliance.console.voicecheck.LOG_WAIT", 0), \
                mock.patch("appliance.console.voicecheck.services.read_logs", return_value=[]):
            store.return_value.exists.return_value = True
            result = run_check(self.skill)
        message = result["message"]
        self.assertEqual(result["link"], "skill")
        self.assertIn("memory-game.myskills.duckdns.org resolves on the internet", message)
        self.assertNotIn("DuckDNS name", message)
