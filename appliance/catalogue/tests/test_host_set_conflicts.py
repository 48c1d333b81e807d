"""host_set refuses settings that clash with the saved skills, naming the field."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.forms import model_to_dict

from appliance.catalogue.models import HostSettings, Skill
from appliance.test import BaseTestCase

pytestmark = pytest.mark.unit


class HostSetConflictsTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        Skill.objects.create(slug="quiz", name="Quiz", source="memory_game", port=8100)
        Skill.objects.create(slug="trivia", name="Trivia", source="memory_game", port=8101,
                             hostname="quiz.example.org")

    def refused(self, *args, field: str, message: str):
        before = model_to_dict(HostSettings.load())
        with self.assertRaises(CommandError) as caught:
            call_command("host_set", *args, stdout=StringIO())
        self.assertIn(f"{field}: ", str(caught.exception))
        self.assertIn(message, str(caught.exception))
        self.assertEqual(model_to_dict(HostSettings.load()), before)

    def test_it_refuses_an_admin_host_name_a_skill_has(self):
        self.refused("--admin-hostname", "quiz", field="admin_hostname",
                     message="quiz.localhost is also skill quiz's host name")

    def test_it_refuses_a_domain_that_makes_two_skills_one_site(self):
        self.refused("--domain", "example.org", field="domain",
                     message="skill quiz and skill trivia would both be served at "
                             "quiz.example.org")

    def test_it_refuses_an_admin_port_a_skill_has(self):
        self.refused("--admin-port", "8101", field="admin_port",
                     message="Port 8101 is used by trivia")

    def test_it_refuses_a_port_range_without_the_skills(self):
        self.refused("--port-range", "8200-8300", field="port_range_start",
                     message="quiz uses port 8100, below the range")

    def test_it_refuses_reserving_a_skills_port(self):
        self.refused("--reserved-ports", "2019,8100", field="reserved_ports",
                     message="Port 8100 is used by quiz")

    def test_it_refuses_an_init_flavour_the_host_does_not_run(self):
        self.refused("--init", "sysv", field="init_flavour", message="This host runs systemd")

    def test_it_still_saves_a_domain_without_clashes(self):
        out = StringIO()
        call_command("host_set", "--domain", "alexa.example.net", stdout=out)
        self.assertEqual(out.getvalue().strip(), "changed: host settings")
        self.assertEqual(HostSettings.load().domain, "alexa.example.net")
