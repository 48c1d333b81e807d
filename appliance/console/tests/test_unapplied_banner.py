"""The unapplied-changes banner: what differs from the live revision, who changed it, and
which entry stops the next apply, on the pages where the catalogue changes."""

from io import StringIO
from unittest import mock

from django.core.management import call_command
from django.urls import reverse

from appliance.catalogue.models import HostSettings, Revision, Skill
from appliance.console.timefmt import when
from appliance.deploy.changes import changes_since

from .unapplied_fixtures import UnappliedTestCase

BANNER = "Unapplied changes:"


class UnappliedBannerTestCase(UnappliedTestCase):
    def setUp(self):
        super().setUp()
        self.login()

    def dashboard(self):
        return self.client.get(reverse("console:dashboard"))

    def test_nothing_is_shown_while_the_catalogue_is_what_is_live(self):
        self.assertNotContains(self.dashboard(), BANNER)

    def test_a_failed_apply_then_an_unrelated_change_names_the_blocking_skill(self):
        # Saved before the forms knew the rule (or restored): the admin's own host name.
        Skill.objects.filter(slug="game").update(hostname="admin")
        Revision.objects.create(number=2, outcome=Revision.FAILED, messages=(
            "The configuration could not be rendered: more than one site for admin.localhost"))
        r = self.client.post(reverse("console:templates", args=["quiz"]),
                             {"templates": "welcome: Hi!\n"})
        self.assertEqual(r.status_code, 302)

        r = self.dashboard()
        self.assertContains(r, BANNER)
        change = reverse("admin:catalogue_skill_change", args=[self.game.pk])
        self.assertContains(r, f'<a href="{change}">skill game</a>: hostname: admin.localhost '
                               "is the admin&#x27;s host name")
        self.assertContains(r, f'on <a href="{change}">game</a>')  # the failed revision's words
        self.assertContains(r, "skill quiz</a>: changed: templates")
        self.assertContains(r, "alice: changed the templates of skill quiz")

    def test_it_is_on_the_skill_list_and_pages_and_the_host_settings(self):
        Skill.objects.filter(slug="quiz").update(threads=8)
        for url in [reverse("admin:catalogue_skill_changelist"),
                    reverse("admin:catalogue_skill_change", args=[self.quiz.pk]),
                    reverse("admin:catalogue_skill_add"),
                    reverse("admin:catalogue_hostsettings_change", args=[self.host.pk])]:
            self.assertContains(self.client.get(url), "skill quiz</a>: changed: threads",
                                msg_prefix=url)

    def test_an_admin_save_says_who_saved_it(self):
        form = {"slug": "quiz", "name": "Quiz", "source_kind": "bundled",
                "source": "memory_game", "enabled": "on", "verify_requests": "on",
                "threads": 6, "idle_exit": 300, "port": 8100, "hostname": "",
                "application_ids": "", "templates": "", "interaction_model": ""}
        self.client.post(reverse("admin:catalogue_skill_change", args=[self.quiz.pk]), form)
        self.assertEqual(Skill.objects.get(slug="quiz").threads, 6)
        self.assertContains(self.dashboard(), "alice: Changed “Quiz”")

    def test_a_command_line_change_is_shown_as_the_command_lines(self):
        call_command("skill_enable", "game", "--off", stdout=StringIO())
        r = self.dashboard()
        self.assertContains(r, "skill game</a>: changed: enabled")
        self.assertContains(r, "(command line): disabled skill game")

    def test_its_times_are_in_the_one_time_format(self):
        call_command("skill_enable", "game", "--off", stdout=StringIO())
        change = changes_since(self.live.created)[0]
        shown = when(change.when)
        self.assertRegex(shown, r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+$")  # seconds, zone
        r = self.dashboard()
        self.assertContains(r, f"Changed since {shown} (")
        self.assertContains(r, f"<li>{shown}, {change.who}: disabled skill game</li>")

    def test_the_skill_lists_disable_action_says_who_disabled(self):
        self.client.post(reverse("admin:catalogue_skill_changelist"),
                         {"action": "disable", "_selected_action": [self.game.pk]})
        self.assertFalse(Skill.objects.get(slug="game").enabled)
        self.assertContains(self.dashboard(), "alice: disabled game")

    def test_added_and_removed_skills_and_host_settings_are_listed(self):
        Skill.objects.filter(slug="game").delete()
        Skill.objects.create(slug="new", name="New", source="memory_game", port=8102)
        HostSettings.objects.update(domain="example.org")
        r = self.dashboard()
        self.assertContains(r, "skill game: removed")
        self.assertContains(r, "skill new</a>: added")
        self.assertContains(r, "host settings</a>: changed: domain")

    def test_a_change_no_rendered_file_holds_needs_no_apply(self):
        Skill.objects.filter(slug="quiz").update(interaction_model="{}")
        HostSettings.objects.update(reserved_ports="2019,9000")
        self.assertNotContains(self.dashboard(), BANNER)

    def test_a_render_failure_the_rules_did_not_foresee_is_shown(self):
        Skill.objects.filter(slug="quiz").update(threads=8)
        with mock.patch("appliance.deploy.unapplied.render_catalogue",
                        side_effect=ValueError("quiz.localhost cannot go into a Caddyfile")):
            r = self.dashboard()
        change = reverse("admin:catalogue_skill_change", args=[self.quiz.pk])
        self.assertContains(r, f'<a href="{change}">skill quiz</a>: The catalogue does not '
                               "render: quiz.localhost cannot go into a Caddyfile")
