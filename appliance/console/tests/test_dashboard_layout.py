"""The dashboard: an unconfigured skill gets one line with a link to its environment (the
reasons folded under it, not a bold block), headers with a scope, one time format, and no
sidebar taking the skills table's width."""

import re
from unittest import mock

from django.core.cache import cache
from django.urls import reverse

from appliance.catalogue.models import Revision, Skill
from appliance.test import BaseTestCase

from .. import hoststatus, skillchecks


class DashboardLayoutTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.skill = Skill.objects.create(slug="conversation", name="Conversation",
                                          source="conversation", port=8110)
        self.enterContext(mock.patch.object(skillchecks, "host_credentials", return_value=None))
        self.enterContext(mock.patch.object(hoststatus, "certificates",
                                            lambda fqdns, port: {}))
        self.enterContext(mock.patch("appliance.console.services.host_states",
                                     return_value=None))
        cache.clear()
        self.login()

    def page(self):
        return self.client.get(reverse("console:dashboard")).content.decode()

    def test_an_unconfigured_skill_is_one_summary_line_linking_to_its_environment(self):
        page = self.page()
        summary = re.search(r"<summary>(.*?)</summary>", page, re.S).group(1)
        self.assertIn("Not configured yet", summary)
        self.assertIn("settings missing", summary)
        change = reverse("admin:catalogue_skill_change", args=[self.skill.pk])
        self.assertIn(f'<a href="{change}#id_environment_text">set them</a>', summary)
        self.assertNotIn("errornote", page[page.index("<details"):page.index("</details>")])
        # The reasons stay, folded under the line.
        self.assertIn('<li class="skill-problem">no AWS region', page)

    def test_every_column_header_has_a_scope(self):
        page = self.page()
        table = page[page.index('<table class="skills-table"'):]
        table = table[:table.index("</thead>")]
        self.assertEqual(len(re.findall(r"<th[ >]", table)), 9)
        self.assertEqual(table.count('<th scope="col">'), 9)

    def test_the_last_revision_is_dated_in_the_one_time_format(self):
        revision = Revision.objects.create(number=4, outcome=Revision.APPLIED)
        Revision.objects.filter(pk=revision.pk).update(
            created="2025-03-04T05:06:07+00:00")
        self.assertIn("applied, 2025-03-04 05:06:07 UTC)", self.page())

    def test_the_sidebar_does_not_take_the_tables_width(self):
        self.assertNotIn('id="nav-sidebar"', self.page())
