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

    def test_skill_add_refuses_an_env_name_that_changes_how_the_skill_runs(self):
        for entry, says in [("FLASK_DEBUG=1", "Flask"), ("PYTHONPATH=/tmp", "Python"),
                            ("LD_PRELOAD=/tmp/x.so", "libraries"),
                            ("ASK_VERIFY_TIMESTAMP_DEBUG=0", "'Verify requests' switch"),
                            ("ASK_APPLICATION_ID=amzn1.ask.skill.x", "--skill-id")]:
            with self.subTest(entry=entry), self.assertRaisesMessage(CommandError, says):
                run("skill_add", "game", "--source", "memory_game", "--env", entry)
        self.assertFalse(Skill.objects.exists())

    def test_skill_add_refuses_a_secret_named_like_a_runtime_setting(self):
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("ASK_VERIFY_REQUESTS", "false")
            with self.assertRaisesMessage(CommandError, "'Verify requests' switch"):
                run("skill_add", "game", "--source", "memory_game",
                    "--secret-from-env", "ASK_VERIFY_REQUESTS")
        self.assertFalse(Skill.objects.exists())

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


GAME = ["skill_add", "game"]
ID_A, ID_B = "amzn1.ask.skill.0000-1111", "amzn1.ask.skill.2222-3333"


class SkillAddUndoTestCase(BaseTestCase):
    """Every setting skill_add can make, it can also undo."""

    def setUp(self):
        super().setUp()
        run(*GAME, "--source", "memory_game", "--on-demand", "--no-verify", "--disabled",
            "--skill-id", ID_A, "--skill-id", ID_B, "--env", "A=1", "--env", "B=2")

    def skill(self):
        return Skill.objects.get(slug="game")

    def test_it_turns_on_demand_off(self):
        self.assertEqual(run(*GAME, "--no-on-demand"), "changed: skill game")
        self.assertFalse(self.skill().on_demand)

    def test_it_turns_verification_back_on(self):
        self.assertEqual(run(*GAME, "--verify"), "changed: skill game")
        self.assertTrue(self.skill().verify_requests)

    def test_it_enables_a_disabled_skill(self):
        self.assertEqual(run(*GAME, "--enabled"), "changed: skill game")
        self.assertTrue(self.skill().enabled)

    def test_it_clears_the_skill_ids(self):
        self.assertEqual(run(*GAME, "--clear-skill-ids"), "changed: skill game")
        self.assertEqual(self.skill().application_ids, "")

    def test_clearing_with_new_skill_ids_makes_them_the_whole_list(self):
        run(*GAME, "--clear-skill-ids", "--skill-id", ID_B)
        self.assertEqual(self.skill().application_ids, ID_B)

    def test_repeating_skill_id_replaces_the_list(self):
        run(*GAME, "--skill-id", ID_A)
        self.assertEqual(self.skill().application_ids, ID_A)

    def test_it_unsets_environment_entries(self):
        self.assertEqual(run(*GAME, "--unset-env", "A"), "changed: skill game")
        self.assertEqual(self.skill().environment, {"B": "2"})
        run(*GAME, "--unset-env", "B")
        self.assertEqual(self.skill().environment, {})

    def test_it_unsets_a_secret_and_keeps_the_others(self):
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("API_KEY", "s3cret")
            patch.setenv("OTHER_KEY", "other")
            run(*GAME, "--secret-from-env", "API_KEY", "--secret-from-env", "OTHER_KEY")
        self.assertEqual(run(*GAME, "--unset-secret", "API_KEY"), "changed: skill game")
        self.assertEqual(self.skill().secrets, {"OTHER_KEY": "other"})

    def test_a_secrets_value_is_not_in_the_output(self):
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("API_KEY", "s3cret-value")
            outputs = [run(*GAME, "--secret-from-env", "API_KEY"),
                       run(*GAME, "--secret-from-env", "API_KEY"),
                       run(*GAME, "--unset-secret", "API_KEY")]
        self.assertEqual(outputs, ["changed: skill game", "unchanged: skill game",
                                   "changed: skill game"])
        self.assertFalse(any("s3cret" in output for output in outputs))

    def test_it_refuses_a_multi_line_secret_without_showing_it(self):
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("API_KEY", "s3cret\nOTHER=smuggled")
            with self.assertRaises(CommandError) as caught:
                run(*GAME, "--secret-from-env", "API_KEY")
        self.assertIn("API_KEY must hold one line", str(caught.exception))
        self.assertNotIn("s3cret", str(caught.exception))
        self.assertEqual(self.skill().secrets, {})

    def test_an_update_that_changes_nothing_reports_unchanged(self):
        self.assertEqual(run(*GAME, "--on-demand", "--no-verify", "--disabled", "--skill-id",
                             ID_A, "--skill-id", ID_B, "--env", "A=1", "--env", "B=2"),
                         "unchanged: skill game")
        run(*GAME, "--no-on-demand", "--verify", "--enabled", "--clear-skill-ids")
        self.assertEqual(run(*GAME, "--no-on-demand", "--verify", "--enabled",
                             "--clear-skill-ids"), "unchanged: skill game")

    def test_it_refuses_contradictory_flags_and_changes_nothing(self):
        before = self.skill().updated
        for flags, message in [
            (["--enabled", "--disabled"], "--enabled and --disabled contradict"),
            (["--on-demand", "--no-on-demand"], "--on-demand and --no-on-demand contradict"),
            (["--verify", "--no-verify"], "--verify and --no-verify contradict"),
            (["--env", "C=3", "--unset-env", "A"], "give one or the other"),
            (["--secret-from-env", "API_KEY", "--unset-secret", "API_KEY"],
             "both name API_KEY"),
        ]:
            with self.subTest(flags=flags), self.assertRaisesMessage(CommandError, message):
                run(*GAME, "--name", "Renamed", *flags)
        self.assertEqual((self.skill().name, self.skill().updated), ("game", before))

    def test_it_refuses_to_unset_what_is_not_there(self):
        with self.assertRaisesMessage(CommandError, "no environment entry NOPE to remove"):
            run(*GAME, "--unset-env", "A", "--unset-env", "NOPE")
        with self.assertRaisesMessage(CommandError, "no secret API_KEY to remove"):
            run(*GAME, "--unset-secret", "API_KEY")
        self.assertEqual(self.skill().environment, {"A": "1", "B": "2"})

    def test_a_new_skill_with_an_unset_is_not_added(self):
        with self.assertRaisesMessage(CommandError, "no environment entry A to remove"):
            run("skill_add", "fresh", "--source", "memory_game", "--unset-env", "A")
        self.assertFalse(Skill.objects.filter(slug="fresh").exists())
