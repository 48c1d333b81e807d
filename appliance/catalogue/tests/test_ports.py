import socket

import pytest

from appliance.catalogue.models import HostSettings, Skill
from appliance.catalogue.ports import allocate_port, port_in_use_on_host
from appliance.test import BaseTestCase

pytestmark = pytest.mark.unit


class AllocatePortTestCase(BaseTestCase):
    def first_free(self, after=0):
        return next(p for p in range(max(self.host.port_range_start, after),
                                     self.host.port_range_end) if not port_in_use_on_host(p))

    def test_it_skips_a_port_another_process_listens_on(self):
        port = self.first_free()
        with socket.create_server(("127.0.0.1", port)):
            self.assertTrue(port_in_use_on_host(port))
            self.assertNotEqual(allocate_port(self.host), port)

    def test_it_skips_ports_of_other_skills_and_reserved_ones(self):
        port = self.first_free()
        Skill.objects.create(slug="a", name="A", source="memory_game", port=port)
        reserved = self.first_free(port + 1)
        HostSettings.objects.filter(pk=1).update(reserved_ports=str(reserved))
        chosen = allocate_port(HostSettings.load())
        self.assertNotIn(chosen, {port, reserved})

    def test_it_says_when_the_range_is_exhausted(self):
        port = self.first_free()
        HostSettings.objects.filter(pk=1).update(port_range_start=port, port_range_end=port)
        Skill.objects.create(slug="a", name="A", source="memory_game", port=port)
        with self.assertRaisesMessage(Exception, "No free port is left"):
            allocate_port(HostSettings.load())
