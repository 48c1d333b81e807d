"""The dashboard's certificate column says in words why there is no certificate: Caddy answers
a name it has no site for (a skill never applied) with a TLS alert, never shown raw."""

import ssl
import tempfile
import threading
from pathlib import Path

from django.test import override_settings
from django.urls import reverse

from appliance.catalogue.models import Skill
from appliance.render.layout import Paths, write_layout
from appliance.test import BaseTestCase

from .fakes import self_signed, use_helper


class NoSiteCaddy:
    """Accepts TLS and refuses every name with an internal-error alert, as Caddy does for a
    name it has no certificate for."""

    def __init__(self, directory: Path):
        import socket

        cert, key = self_signed(directory)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.context.sni_callback = lambda sock, name, ctx: ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.layout = directory / "layout.json"
        write_layout(self.layout, Paths(), https_port=self.port, init_flavour="sysv")
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                self.context.wrap_socket(conn, server_side=True).close()
            except (ssl.SSLError, OSError):
                conn.close()


class CertificateWordsTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        Skill.objects.create(slug="memory-game", name="Memory Game", source="memory_game",
                             port=8101)
        use_helper(self)
        self.caddy = NoSiteCaddy(Path(self.enterContext(tempfile.TemporaryDirectory())))
        self.addCleanup(self.caddy.sock.close)
        self.enterContext(override_settings(APPLIANCE_LAYOUT=str(self.caddy.layout)))
        self.login()

    def test_a_name_caddy_has_no_site_for_is_said_in_words(self):
        r = self.client.get(reverse("console:dashboard"))
        self.assertContains(r, "no certificate yet")
        self.assertContains(r, "Caddy has none for this name: not applied yet, or still being "
                               "issued")
        # The raw alert is left for the tooltip only, not the text.
        body = r.content.decode()
        self.assertNotIn(">TLSV1_ALERT_INTERNAL_ERROR", body)
        self.assertNotIn("TLSV1_ALERT_INTERNAL_ERROR<", body)
