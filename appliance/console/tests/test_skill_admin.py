from unittest import mock

from django.urls import reverse

from appliance.catalogue.models import Skill
from appliance.console import applying
from appliance.test import BaseTestCase

from .fakes import FakeHelper, use_helper

ADD = {"slug": "memory-game", "name": "Memory Game", "source_kind": "bundled",
       "source": "memory_game", "enabled": "on", "port": "", "hostname": "",
       "application_ids": "", "verify_requests": "on", "threads": "4", "idle_exit": "300",
       "test_console": "on", "environment_text": "", "secrets_text": ""}


class SkillAdminTestCase(BaseTestCase):
    changelist = reverse("admin:catalogue_skill_changelist")

    def setUp(self):
        super().setUp()
        self.helper = FakeHelper(states={"alexa-skill-one": "active",
                                         "alexa-skill-lazy": "idle"})
        use_helper(self, self.helper)
        self.login()

    def skill(self, slug, **fields):
        return Skill.objects.create(slug=slug, name=slug.title(), source="memory_game",
                                    port=8100 + Skill.objects.count() + 1, **fields)

    def action(self, name, *skills):
        return self.client.post(self.changelist, {
            "action": name, "_selected_action": [s.pk for s in skills]}, follow=True)

    def test_the_list_shows_state_port_and_url_link(self):
        self.skill("one")
        self.skill("lazy", on_demand=True)
        self.skill("gone")
        r = self.client.get(self.changelist)
        self.assertContains(r, '<span class="state state-running">running</span>')
        self.assertContains(r, '<span class="state state-idle">idle</span>')
        self.assertContains(r, '<span class="state state-stopped">stopped</span>')
        self.assertContains(r, '<a href="https://one.localhost/">https://one.localhost/</a>')
        self.assertEqual(self.helper.calls, [("status-all",)])

    def test_the_lists_checkboxes_are_djangos_own(self):
        from django.contrib import admin

        skill = self.skill("one")
        skill.name = 'Quote " and <tag>'
        model_admin = admin.site._registry[Skill]
        self.assertEqual(model_admin.action_checkbox(skill),
                         admin.ModelAdmin.action_checkbox(model_admin, skill))
        r = self.client.get(self.changelist)
        self.assertContains(r, f'<input type="checkbox" name="_selected_action" '
                               f'value="{skill.pk}" class="action-select"', count=1)

    def test_a_failing_helper_shows_unknown_in_the_list(self):
        self.skill("one")
        self.helper.broken.add("*")
        r = self.client.get(self.changelist)
        self.assertContains(r, '<span class="state state-unknown">unknown</span>')

    def test_adding_a_skill_picks_a_free_port(self):
        r = self.client.post(reverse("admin:catalogue_skill_add"), ADD, follow=True)
        self.assertContains(r, "was added successfully")
        skill = Skill.objects.get(slug="memory-game")
        self.assertTrue(8100 <= skill.port <= 8999)
        self.assertTrue(skill.test_console)

    def test_it_rejects_a_slug_with_braces_and_saves_nothing(self):
        r = self.client.post(reverse("admin:catalogue_skill_add"),
                             {**ADD, "slug": "bad}{slug"})
        self.assertContains(r, "Use 1-26 lowercase letters")
        self.assertFalse(Skill.objects.exists())

    def test_it_rejects_a_source_that_does_not_exist(self):
        r = self.client.post(reverse("admin:catalogue_skill_add"),
                             {**ADD, "source": "no_such_skill"})
        self.assertContains(r, "There is no bundled skill called")
        self.assertFalse(Skill.objects.exists())

    def test_the_slug_is_read_only_once_created(self):
        skill = self.skill("one")
        r = self.client.get(reverse("admin:catalogue_skill_change", args=[skill.pk]))
        self.assertContains(r, 'name="slug"')
        self.assertContains(r, "disabled")

    def test_secrets_are_listed_by_name_and_never_shown(self):
        skill = self.skill("one", secrets={"API_KEY": "s3cr3t-value"})
        r = self.client.get(reverse("admin:catalogue_skill_change", args=[skill.pk]))
        self.assertContains(r, "API_KEY")
        self.assertNotContains(r, "s3cr3t-value")

    def test_the_change_form_links_to_the_skills_pages(self):
        skill = self.skill("one")
        r = self.client.get(reverse("admin:catalogue_skill_change", args=[skill.pk]))
        self.assertContains(r, 'href="/skills/one/templates/"')
        self.assertContains(r, 'href="/console/one/"')
        self.assertContains(r, 'name="_apply"')

    def test_start_goes_through_the_helper_and_says_so(self):
        one = self.skill("one")
        r = self.action("start", one)
        self.assertEqual(self.helper.count("service", "start", "alexa-skill-one"), 1)
        self.assertContains(r, "Started alexa-skill-one.")

    def test_an_action_makes_the_list_ask_for_fresh_states(self):
        one = self.skill("one")
        self.client.get(self.changelist)
        self.client.get(self.changelist)
        self.assertEqual(self.helper.count("status-all"), 1)
        self.action("stop", one)  # follows the redirect to the list
        self.assertEqual(self.helper.count("status-all"), 2)

    def test_stop_and_restart_go_through_the_helper(self):
        one = self.skill("one")
        self.action("stop", one)
        self.action("restart", one)
        self.assertEqual(self.helper.count("service", "stop", "alexa-skill-one"), 1)
        self.assertEqual(self.helper.count("service", "restart", "alexa-skill-one"), 1)

    def test_a_helper_error_in_an_action_is_a_message(self):
        one = self.skill("one")
        self.helper.broken.add("alexa-skill-one")
        r = self.action("restart", one)
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "Could not restart alexa-skill-one: journalctl failed")

    def test_enable_and_disable_change_the_catalogue(self):
        one, two = self.skill("one"), self.skill("two", enabled=False)
        r = self.action("disable", one)
        self.assertContains(r, "Disabled one. Apply to put the change live.")
        self.action("enable", two)
        self.assertEqual(list(Skill.objects.values_list("slug", "enabled")),
                         [("one", False), ("two", True)])

    def test_apply_now_leads_to_the_review_of_the_pending_diff(self):
        one = self.skill("one")
        with mock.patch("appliance.console.applying.apply_catalogue") as apply:
            r = self.action("apply_now", one)
        apply.assert_not_called()
        self.assertEqual(r.redirect_chain[0][0], applying.review_url(
            self.changelist, "applied from the skill list"))
        self.assertContains(r, "Review and apply")

    def test_save_and_apply_saves_then_leads_to_the_review(self):
        skill = self.skill("one")
        data = {**ADD, "slug": "one", "name": "Renamed", "port": str(skill.port),
                "_apply": "Save and apply"}
        with mock.patch("appliance.console.applying.apply_catalogue") as apply:
            r = self.client.post(reverse("admin:catalogue_skill_change", args=[skill.pk]),
                                 data, follow=True)
        apply.assert_not_called()
        skill.refresh_from_db()
        self.assertEqual(skill.name, "Renamed")
        # Where the save alone would have gone is where the review comes back to.
        self.assertEqual(r.redirect_chain[0][0],
                         applying.review_url(self.changelist, "saved one"))
        self.assertContains(r, "was changed successfully")
        self.assertContains(r, 'value="saved one"')

    def test_it_is_for_staff_only(self):
        self.login(self.bob)
        self.assertEqual(self.client.get(self.changelist).status_code, 302)
