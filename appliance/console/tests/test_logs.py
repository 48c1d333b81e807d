
from django.urls import reverse

from appliance.catalogue.models import Skill
from appliance.test import BaseTestCase

from .fakes import FakeHelper, use_helper

REQUEST = ("INFO skills.runtime.requests: request_id=amzn1.echo-api.request.{n} "
           "type=IntentRequest intent=AnswerIntent outcome=ok latency_ms={ms}")
ENTRIES = [
    {"time": "2025-01-01T10:00:00.000+00:00", "level": "info",
     "message": "INFO skills.serve: serving memory_game on 127.0.0.1:8101"},
    {"time": "2025-01-01T10:00:01.000+00:00", "level": "info",
     "message": REQUEST.format(n=1, ms="12.5")},
    {"time": "2025-01-01T10:00:02.000+00:00", "level": "warning",
     "message": "WARNING skills.runtime: signature <b>rejected</b>"},
    {"time": "2025-01-01T10:00:03.000+00:00", "level": "info",
     "message": "INFO skills.runtime.requests: request_id=amzn1.echo-api.request.2 "
                "type=LaunchRequest intent=- outcome=ok latency_ms=3.0"},
]


class LogsTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        Skill.objects.create(slug="memory-game", name="Memory Game", source="memory_game",
                             port=8101)
        self.helper = FakeHelper(logs={"alexa-skill-memory-game": ENTRIES,
                                       "caddy": [{"time": "", "level": "error",
                                                  "message": "tls: no certificate"}]})
        use_helper(self, self.helper)
        self.login()

    def data(self, name="memory-game", **query):
        return self.client.get(reverse("console:logs_data", args=[name]), query).json()

    def test_the_page_shows_request_lines_as_a_table_newest_first(self):
        r = self.client.get(reverse("console:logs", args=["memory-game"]))
        self.assertContains(r, "<code>amzn1.echo-api.request.2</code>")
        self.assertContains(r, "<td>AnswerIntent</td><td>ok</td><td>12.5 ms</td>", html=False)
        body = r.content.decode()
        self.assertLess(body.index("request.2"), body.index("request.1"))
        self.assertContains(r, "signature &lt;b&gt;rejected&lt;/b&gt;")

    def test_the_json_has_lines_newest_first_with_parsed_requests(self):
        data = self.data()
        self.assertTrue(data["ok"])
        self.assertEqual([line["time"][-18:-10] for line in data["lines"]],
                         ["10:00:03", "10:00:02", "10:00:01", "10:00:00"])
        self.assertEqual(data["requests"][0]["type"], "LaunchRequest")
        self.assertEqual(data["requests"][0]["intent"], "")
        self.assertEqual(data["requests"][1], {
            "request_id": "amzn1.echo-api.request.1", "type": "IntentRequest",
            "intent": "AnswerIntent", "outcome": "ok", "latency_ms": 12.5,
            "time": "2025-01-01T10:00:01.000+00:00", "when": "2025-01-01 10:00:01 UTC"})
        # The skill's own lines, then Caddy's (its access log, for the skill's host).
        self.assertEqual(self.helper.calls, [("logs", "alexa-skill-memory-game",
                                              "--lines", "200"),
                                             ("logs", "caddy", "--lines", "200")])

    def test_it_filters_by_level_and_text(self):
        self.assertEqual([line["level"] for line in self.data(level="warning")["lines"]],
                         ["warning"])
        lines = self.data(q="ANSWERintent")["lines"]
        self.assertEqual(len(lines), 1)
        self.assertIn("AnswerIntent", lines[0]["message"])

    def test_last_gives_only_the_newest_request(self):
        data = self.data(last="1")
        self.assertEqual(data["lines"], [])
        self.assertEqual([r["request_id"] for r in data["requests"]],
                         ["amzn1.echo-api.request.2"])

    def test_it_asks_for_the_number_of_lines_wanted_within_limits(self):
        self.data(lines="50")
        self.data(lines="999999")
        self.data(lines="lots")
        self.assertEqual([call[-1] for call in self.helper.calls],
                         ["50", "50", "2000", "2000", "200", "200"])

    def test_caddys_logs_come_from_the_caddy_service(self):
        data = self.data("caddy")
        self.assertEqual(data["unit"], "caddy")
        self.assertEqual(data["lines"][0]["message"], "tls: no certificate")
        r = self.client.get(reverse("console:logs", args=["caddy"]))
        self.assertContains(r, "Logs: Caddy")

    def test_a_helper_error_is_a_friendly_message(self):
        self.helper.broken.add("*")
        data = self.data()
        self.assertFalse(data["ok"])
        self.assertIn("Could not read the logs of alexa-skill-memory-game", data["error"])
        r = self.client.get(reverse("console:logs", args=["memory-game"]))
        self.assertContains(r, "permission denied")

    def test_an_unknown_skill_is_404(self):
        self.assertEqual(self.client.get("/logs/nope/data").status_code, 404)

    def test_it_is_for_staff_only(self):
        self.login(self.bob)
        r = self.client.get(reverse("console:logs_data", args=["memory-game"]))
        self.assertEqual(r.status_code, 302)
        self.assertEqual(self.helper.calls, [])
