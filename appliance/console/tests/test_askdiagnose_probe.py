"""Ask Alexa's own handshake with the endpoint: a .localhost name is loopback (RFC 6761)."""

from __future__ import annotations

import socket
from unittest import mock

from django.test import SimpleTestCase

from appliance.console import askdiagnose


class ProbeTests(SimpleTestCase):
    def probe_address(self, uri: str) -> tuple:
        with mock.patch.object(askdiagnose.socket, "create_connection",
                               side_effect=ConnectionRefusedError(111, "refused")) as connect:
            verdict, _ = askdiagnose.probe(uri, timeout=0.1)
        self.assertEqual(verdict, "unreachable")
        return connect.call_args.args[0]

    def test_a_localhost_subdomain_is_probed_on_loopback(self):
        self.assertEqual(self.probe_address("https://memory-game.appliance.localhost/"),
                         ("127.0.0.1", 443))

    def test_a_public_name_is_resolved_as_usual(self):
        self.assertEqual(self.probe_address("https://memory-game.example.org:8443/"),
                         ("memory-game.example.org", 8443))

    def test_a_name_that_does_not_resolve_is_unreachable_in_words(self):
        with mock.patch.object(askdiagnose.socket, "create_connection",
                               side_effect=socket.gaierror(-2, "Name or service not known")):
            self.assertEqual(askdiagnose.probe("https://nowhere.example.org/"),
                             ("unreachable", "Name or service not known"))
