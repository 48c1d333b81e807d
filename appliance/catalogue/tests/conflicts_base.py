"""The setting of the conflict tests (form and command): one other skill, ``quiz`` on port 8100."""

from unittest import mock

from appliance.catalogue.models import Skill
from appliance.test import BaseTestCase


class OtherSkillTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        # The import check runs a process per form; these tests are about the other rows.
        patcher = mock.patch("appliance.catalogue.forms.check_skill_imports")
        patcher.start()
        self.addCleanup(patcher.stop)
        Skill.objects.create(slug="quiz", name="Quiz", source="memory_game", port=8100)
