"""What the alert tests share: a host's layout under a temporary root whose HTTPS port answers
nothing (no Caddy), and a way to run one check as the timer does."""

from __future__ import annotations

import io
import socket
import tempfile
from pathlib import Path

from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import override_settings

from appliance.alerts.models import AlertSettings, Channel
from appliance.render.layout import paths_under, write_layout
from appliance.test import BaseTestCase


class AlertsTestCase(BaseTestCase):
    https_port: int | None = None  # a test with a fake Caddy sets its port

    def setUp(self):
        super().setUp()
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        self.root = Path(directory.name)
        self.paths = paths_under(self.root)
        port = self.https_port
        if port is None:
            # Bound, never listening: a connection is refused, and no other process (a booted
            # test host's Caddy on 443) can be behind it.
            closed = socket.socket()
            closed.bind(("127.0.0.1", 0))
            self.addCleanup(closed.close)
            port = closed.getsockname()[1]
        write_layout(self.root / "layout.json", self.paths, https_port=port)
        overrides = override_settings(APPLIANCE_LAYOUT=str(self.root / "layout.json"),
                                      APPLIANCE_DATA_DIR=self.root / "data")
        overrides.enable()
        self.addCleanup(overrides.disable)
        (self.root / "data").mkdir()
        cache.clear()  # certificates seen by an earlier test are cached
        self.addCleanup(cache.clear)

    def settings_row(self, **fields) -> AlertSettings:
        row = AlertSettings.load()
        for name, value in fields.items():
            setattr(row, name, value)
        row.save()
        return row

    def channel(self, url: str, name: str = "ops", **fields) -> Channel:
        return Channel.objects.create(name=name, url=url, service="JSON", **fields)

    def check(self) -> tuple[str, str, str | None]:
        """One ``manage.py alerts_check``: (stdout, stderr, the CommandError's words or None)."""
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command("alerts_check", stdout=out, stderr=err)
        except CommandError as exc:
            return out.getvalue(), err.getvalue(), str(exc)
        return out.getvalue(), err.getvalue(), None
