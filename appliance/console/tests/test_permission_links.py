"""The pages offer only what the user's permissions allow: buttons, links and bulk actions."""

import re

from django.contrib.auth.models import User
from django.urls import reverse

from appliance.catalogue.models import Revision, Skill
from appliance.test import BaseTestCase

from .fakes import use_helper

APPLY_FORM = f'action="{reverse("console:review")}"'


class PermissionLinksTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.skill = Skill.objects.create(slug="memory-game", name="Memory Game",
                                          source="memory_game", port=8101)
        self.revision = Revision.objects.create(number=1, outcome=Revision.APPLIED)
        use_helper(self)

    def get(self, url, *perms):
        username = f"user{User.objects.count()}"
        self.login(self.staff(*perms, username=username) if perms else self.alice)
        return self.client.get(url)

    def test_the_dashboard_shows_apply_and_console_links_only_to_who_may_use_them(self):
        url = reverse("console:dashboard")
        console = reverse("console:test_console", args=["memory-game"])
        viewer = self.get(url, "catalogue.view_skill")
        self.assertNotContains(viewer, APPLY_FORM)
        self.assertNotContains(viewer, f'href="{console}"')
        self.assertNotContains(viewer, reverse("console:logs", args=["caddy"]))
        everything = self.get(url)
        self.assertContains(everything, APPLY_FORM)
        self.assertContains(everything, f'href="{console}"')

    def test_the_navigation_lists_only_the_pages_the_user_may_open(self):
        r = self.get(reverse("admin:catalogue_revision_changelist"), "catalogue.view_revision")
        nav = re.search(r'<nav class="appliance-nav".*?</nav>', r.content.decode(), re.S)[0]
        links = re.findall(r'href="([^"]+)"', nav)
        self.assertEqual(links, [reverse("admin:catalogue_revision_changelist")])

    def test_the_templates_editor_offers_save_only_with_change_and_apply_only_with_apply(self):
        url = reverse("console:templates", args=["memory-game"])
        viewer = self.get(url, "catalogue.view_skill")
        self.assertContains(viewer, 'name="preview"')
        self.assertNotContains(viewer, 'name="save"')
        editor = self.get(url, "catalogue.change_skill")
        self.assertContains(editor, 'name="save"')
        self.assertNotContains(editor, 'name="apply"')
        self.assertContains(self.get(url), 'name="apply"')

    def test_the_model_editor_hides_saving_and_importing_from_a_viewer(self):
        url = reverse("console:model", args=["memory-game"])
        viewer = self.get(url, "catalogue.view_skill")
        self.assertNotContains(viewer, 'name="save"')
        self.assertNotContains(viewer, reverse("console:package_import", args=["memory-game"]))
        self.assertContains(viewer, reverse("console:package_export", args=["memory-game"]))

    def test_the_skill_list_offers_only_the_allowed_actions_and_no_apply_button(self):
        r = self.get(reverse("admin:catalogue_skill_changelist"), "catalogue.change_skill",
                     "catalogue.control_skill")
        self.assertContains(r, '<option value="disable">')
        self.assertContains(r, '<option value="restart">')
        self.assertNotContains(r, '<option value="apply_now">')
        self.assertNotContains(r, '<option value="delete_selected">')
        self.assertNotContains(r, APPLY_FORM)

    def test_the_skill_form_offers_save_and_apply_only_with_apply(self):
        url = reverse("admin:catalogue_skill_change", args=[self.skill.pk])
        r = self.get(url, "catalogue.change_skill")
        self.assertContains(r, 'name="_save"')
        self.assertNotContains(r, 'name="_apply"')
        self.assertNotContains(r, reverse("console:test_console", args=["memory-game"]))
        self.assertContains(self.get(url), 'name="_apply"')

    def test_the_rollback_link_needs_the_rollback_permission(self):
        url = reverse("admin:catalogue_revision_change", args=[self.revision.pk])
        rollback = reverse("admin:catalogue_revision_rollback", args=[self.revision.pk])
        self.assertNotContains(self.get(url, "catalogue.view_revision"), rollback)
        self.assertContains(self.get(url, "catalogue.view_revision",
                                     "catalogue.rollback_revision"), rollback)
