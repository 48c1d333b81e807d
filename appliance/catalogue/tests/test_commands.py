import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from appliance.catalogue.models import HostSettings, Skill
from appliance.test import BaseTestCase

pytestmark = pytest.mark.unit


def run(*args, **env):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


class SkillCommandsTestCase(BaseTestCase):
    def test_skill_add_adds_then_reports_unchanged(self):
        self.assertEqual(run("skill_add", "memory-game", "--source", "memory_game",
                             "--name", "Memory Game"), "changed: skill memory-game")
        self.assertEqual(run("skill_add", "memory-game", "--source", "memory_game",
                             "--name", "Memory Game"), "unchanged: skill memory-game")
        skill = Skill.objects.get()
        self.assertTrue(skill.enabled)
        # The first free port of the range (one another process holds is skipped).
        self.assertGreaterEqual(skill.port, self.host.port_range_start)
        self.assertLessEqual(skill.port, self.host.port_range_end)

    def test_skill_add_updates_only_what_it_is_given(self):
        run("skill_add", "memory-game", "--source", "memory_game", "--env", "A=1")
        run("skill_add", "memory-game", "--hostname", "game.example.org")
        skill = Skill.objects.get()
        self.assertEqual((skill.hostname, skill.environment), ("game.example.org", {"A": "1"}))

    def test_skill_add_names_the_bad_field(self):
        with self.assertRaisesMessage(CommandError, "slug:"):
            run("skill_add", "Bad Slug", "--source", "memory_game")
        with self.assertRaisesMessage(CommandError, "port:"):
            run("skill_add", "game", "--source", "memory_game", "--port", "80")
        self.assertEqual(Skill.objects.count(), 0)

    def test_skill_add_reads_secrets_from_the_environment_only(self):
        with self.assertRaisesMessage(CommandError, "API_KEY is not set"):
            run("skill_add", "game", "--source", "memory_game", "--secret-from-env", "API_KEY")
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("API_KEY", "s3cret")
            output = run("skill_add", "game", "--source", "memory_game",
                         "--secret-from-env", "API_KEY")
        self.assertNotIn("s3cret", output)
        self.assertEqual(Skill.objects.get().secrets, {"API_KEY": "s3cret"})

    def test_skill_enable_and_disable_are_idempotent(self):
        run("skill_add", "game", "--source", "memory_game")
        self.assertEqual(run("skill_enable", "game", "--off"), "changed: skill game disabled")
        self.assertEqual(run("skill_enable", "game", "--off"), "unchanged: skill game disabled")
        self.assertEqual(run("skill_enable", "game"), "changed: skill game enabled")
        with self.assertRaisesMessage(CommandError, "no skill 'nope'"):
            run("skill_enable", "nope")

    def test_skill_remove(self):
        run("skill_add", "game", "--source", "memory_game")
        self.assertEqual(run("skill_remove", "game"), "changed: skill game")
        self.assertEqual(run("skill_remove", "game"), "unchanged: skill game")

    def test_skill_list_json(self):
        run("skill_add", "game", "--source", "memory_game")
        rows = json.loads(run("skill_list", "--json"))
        self.assertEqual(rows[0]["url"], "https://game.localhost/")


class HostSetCommandTestCase(BaseTestCase):
    def test_it_sets_the_host_and_reports_unchanged_on_rerun(self):
        args = ["host_set", "--domain", "alexa.duckdns.org", "--ca", "letsencrypt",
                "--email", "ops@example.org", "--admin-hostname", "admin"]
        self.assertEqual(run(*args), "changed: host settings")
        self.assertEqual(run(*args), "unchanged: host settings")
        self.assertEqual(HostSettings.load().fqdn("admin"), "admin.alexa.duckdns.org")

    def test_lets_encrypt_needs_an_email(self):
        with self.assertRaisesMessage(CommandError, "acme_email:"):
            run("host_set", "--ca", "letsencrypt")

    def test_the_duckdns_token_comes_from_the_environment_and_is_kept(self):
        token = "01234567-89ab-cdef-0123-456789abcdef"
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DUCKDNS_TOKEN", token)
            run("host_set", "--duckdns-domains", "myalexa", "--duckdns-token-from-env",
                "DUCKDNS_TOKEN")
        run("host_set", "--domain", "myalexa.duckdns.org")
        self.assertEqual(HostSettings.load().duckdns_token, token)

    def test_it_rejects_a_bad_token_and_domain(self):
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DUCKDNS_TOKEN", "not-a-token")
            with self.assertRaisesMessage(CommandError, "duckdns_token:"):
                run("host_set", "--duckdns-domains", "x", "--duckdns-token-from-env",
                    "DUCKDNS_TOKEN")
        with self.assertRaisesMessage(CommandError, "domain:"):
            run("host_set", "--domain", "bad domain")


class SkillAddOnDemandTestCase(BaseTestCase):
    def test_it_sets_an_on_demand_skills_idle_exit(self):
        run("skill_add", "game", "--source", "memory_game", "--on-demand", "--idle-exit", "20")
        skill = Skill.objects.get()
        self.assertEqual((skill.on_demand, skill.idle_exit), (True, 20))

    def test_it_refuses_an_idle_exit_under_ten_seconds(self):
        with self.assertRaisesMessage(CommandError, "idle_exit:"):
            run("skill_add", "game", "--source", "memory_game", "--idle-exit", "3")
