"""Caddy's JSON log on the logs pages: its own levels, its access log as a request table on the
Caddy page, and per skill (only the skill's host) on the skill's page."""

import json

from django.urls import reverse

from appliance.catalogue.models import Skill
from appliance.test import BaseTestCase

from .fakes import FakeHelper, use_helper


def access(host: str, status: int = 200, uri: str = "/", duration: float = 0.0123) -> str:
    return json.dumps({
        "level": "error" if status >= 500 else "info", "ts": 1735725600.5,
        "logger": "http.log.access.log0", "msg": "handled request",
        "request": {"remote_ip": "54.239.1.2", "method": "POST", "host": host, "uri": uri,
                    "headers": {"Signature-256": ["…"]}},
        "duration": duration, "size": 120, "status": status})


def journal(message: str) -> dict:
    # Under systemd every Caddy line is "info" to the journal: Caddy writes all to stderr.
    return {"time": "2025-01-01T10:00:00.500+00:00", "level": "info", "message": message}


class CaddyLogsTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.skill = Skill.objects.create(slug="memory-game", name="Memory Game",
                                          source="memory_game", port=8101)
        self.other = Skill.objects.create(slug="quiz", name="Quiz", source="quiz", port=8102)
        host = self.skill.fqdn()
        self.helper = FakeHelper(logs={"caddy": [
            journal(json.dumps({"level": "warn", "ts": 1735725599.0, "logger": "tls",
                                "msg": "stapling OCSP", "error": "no OCSP server"})),
            journal(access(f"{host}:8443", uri="/?a=1")),
            journal(access(self.other.fqdn(), status=502)),
            journal(json.dumps({"level": "error", "ts": 1735725601.0, "logger": "http.log.error",
                                "msg": "dial tcp 127.0.0.1:8102: connect: connection refused"})),
        ]})
        use_helper(self, self.helper)
        self.login()

    def data(self, name="caddy", **query):
        return self.client.get(reverse("console:logs_data", args=[name]), query).json()

    def test_warnings_and_errors_are_read_from_caddys_json(self):
        lines = self.data(level="warning")["lines"]
        self.assertEqual([line["level"] for line in lines], ["error", "error", "warning"])
        self.assertEqual(lines[0]["message"], "http.log.error: dial tcp 127.0.0.1:8102: connect: "
                                              "connection refused")
        self.assertEqual([line["level"] for line in self.data(level="error")["lines"]],
                         ["error", "error"])

    def test_the_caddy_page_lists_every_access_entry_with_host_status_and_duration(self):
        rows = self.data()["access"]
        self.assertEqual([(row["host"], row["status"]) for row in rows],
                         [(self.other.fqdn(), 502), (f"{self.skill.fqdn()}:8443", 200)])
        self.assertEqual(rows[1]["duration_ms"], 12.3)
        self.assertEqual(rows[1]["uri"], "/?a=1")
        self.assertEqual(rows[1]["when"], "2025-01-01 10:00:00 UTC")
        page = self.client.get(reverse("console:logs", args=["caddy"]))
        self.assertContains(page, f"<td>{self.other.fqdn()}</td><td>POST</td>", html=False)
        self.assertContains(page, "<td>502</td><td>12.3 ms</td><td>54.239.1.2</td>", html=False)

    def test_a_skills_page_shows_caddys_access_log_for_its_host_only(self):
        rows = self.data("memory-game")["access"]
        self.assertEqual([row["host"] for row in rows], [f"{self.skill.fqdn()}:8443"])
        page = self.client.get(reverse("console:logs", args=["quiz"]))
        self.assertContains(page, f"Requests through Caddy to {self.other.fqdn()}")
        self.assertContains(page, "<td>502</td>", html=False)
        self.assertNotContains(page, f"<td>{self.skill.fqdn()}:8443</td>", html=False)

    def test_a_sysv_hosts_split_lines_are_read_back(self):
        # The SysV log reader keeps "msg {the other fields}" and the level.
        record = json.loads(access(self.skill.fqdn(), status=404))
        rest = {k: v for k, v in record.items() if k not in ("ts", "level", "msg")}
        self.helper.logs["caddy"] = [{"time": "", "level": "info",
                                      "message": f"handled request {json.dumps(rest)}"}]
        data = self.data()
        self.assertEqual(data["access"][0]["status"], 404)
        self.assertEqual(data["lines"][0]["message"],
                         f"POST {self.skill.fqdn()}/ → 404 in 12.3 ms from 54.239.1.2")

    def test_caddy_unreadable_on_a_skills_page_keeps_the_skills_lines(self):
        self.helper.broken.add("caddy")
        data = self.data("memory-game")
        self.assertTrue(data["ok"])
        self.assertEqual(data["access"], [])
        self.assertIn("Could not read Caddy's access log", data["access_error"])
