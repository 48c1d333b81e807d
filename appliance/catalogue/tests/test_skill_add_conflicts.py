"""skill_add refuses a clash with the other rows, naming the field, and saves nothing."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from appliance.catalogue.models import Skill

from .conflicts_base import OtherSkillTestCase

pytestmark = pytest.mark.unit


class SkillAddConflictsTestCase(OtherSkillTestCase):
    def refused(self, *args, field: str, message: str):
        before = list(Skill.objects.values())
        with self.assertRaises(CommandError) as caught:
            call_command("skill_add", *args, stdout=StringIO())
        self.assertIn(f"{field}: ", str(caught.exception))
        self.assertIn(message, str(caught.exception))
        self.assertEqual(list(Skill.objects.values()), before)

    def test_it_refuses_the_admins_host_name(self):
        self.refused("game", "--source", "memory_game", "--hostname", "admin",
                     field="hostname", message="admin.localhost is the admin's host name")

    def test_it_refuses_a_slug_that_is_the_admins_name(self):
        self.refused("admin", "--source", "memory_game", field="hostname",
                     message="(from the slug) is the admin's host name")

    def test_it_refuses_another_skills_host_name(self):
        self.refused("game", "--source", "memory_game", "--hostname", "quiz.localhost",
                     field="hostname", message="skill quiz's host name")

    def test_it_refuses_another_skills_host_name_on_an_update(self):
        call_command("skill_add", "game", "--source", "memory_game", stdout=StringIO())
        self.refused("game", "--hostname", "quiz", field="hostname",
                     message="skill quiz's host name")

    def test_it_refuses_another_skills_port(self):
        self.refused("game", "--source", "memory_game", "--port", "8100", field="port",
                     message="already used by quiz")

    def test_it_refuses_the_admins_port(self):
        self.host.admin_port = 8200
        self.host.save()
        self.refused("game", "--source", "memory_game", "--port", "8200", field="port",
                     message="used by the admin")

    def test_it_refuses_a_secret_that_is_also_in_the_environment(self):
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("API_KEY", "s3cret")
            self.refused("game", "--source", "memory_game", "--env", "API_KEY=1",
                         "--secret-from-env", "API_KEY", field="secrets_text",
                         message="API_KEY is in the environment too")

    def test_it_refuses_a_name_with_a_control_character(self):
        self.refused("game", "--source", "memory_game", "--name", "Game\x1b[2J",
                     field="name", message="one line of text")
