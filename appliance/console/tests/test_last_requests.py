
from django.urls import reverse

from appliance.catalogue.models import Skill
from appliance.test import BaseTestCase

from .fakes import FakeHelper, use_helper
from .test_logs import ENTRIES


class LastRequestsTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        for n, slug in enumerate(["memory-game", "quiet", "error"]):
            Skill.objects.create(slug=slug, name=slug.title(), source="memory_game",
                                 port=8101 + n)
        self.helper = FakeHelper(logs={
            "alexa-skill-memory-game": ENTRIES,
            "alexa-skill-quiet": [{"time": "", "level": "info", "message": "serving"}]})
        use_helper(self, self.helper)
        self.login()

    def get(self):
        return self.client.get(reverse("console:last_requests"))

    def test_it_gives_each_skills_newest_request_or_null(self):
        r = self.get()
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.json(), {
            "error": None,  # a skill called "error" is a skill like any other
            "memory-game": {"time": "2025-01-01T10:00:03.000+00:00", "type": "LaunchRequest",
                            "intent": "", "outcome": "ok", "latency_ms": 3.0,
                            "when": "2025-01-01 10:00:03 UTC"},
            "quiet": None,
        })

    def test_it_asks_the_helper_once_for_every_skill(self):
        for n in range(50):
            Skill.objects.create(slug=f"skill-{n}", name=f"Skill {n}", source="memory_game",
                                 port=8200 + n)
        self.assertEqual(len(self.get().json()), 53)
        self.assertEqual(self.helper.count("last-requests"), 1)
        self.assertEqual(len(self.helper.calls), 1)
        self.assertEqual(len(self.helper.calls[0]), 54)  # the command and every skill's unit
        self.assertIn("alexa-skill-skill-49", self.helper.calls[0])

    def test_no_skills_ask_nothing(self):
        Skill.objects.all().delete()
        self.assertEqual(self.get().json(), {})
        self.assertEqual(self.helper.calls, [])

    def test_a_helper_error_is_a_502_with_words(self):
        self.helper.broken.add("*")
        r = self.get()
        self.assertEqual(r.status_code, 502)
        self.assertEqual(r.json(), {"error": "Could not read the logs: journalctl failed: "
                                             "permission denied"})

    def test_an_odd_helper_answer_is_no_request(self):
        answers = {"alexa-skill-memory-game": {"type": "x", "latency_ms": "soon"},
                   "alexa-skill-quiet": ["not", "a", "dict"]}
        self.helper.last_requests = lambda units: {"ok": True, "units": answers}
        self.assertEqual(self.get().json(), {"error": None, "memory-game": None, "quiet": None})

    def test_the_last_view_of_one_skill_still_works(self):
        data = self.client.get(reverse("console:logs_data", args=["memory-game"]),
                               {"last": "1"}).json()
        self.assertEqual([r["type"] for r in data["requests"]], ["LaunchRequest"])

    def test_it_is_for_staff_only(self):
        self.login(self.bob)
        self.assertEqual(self.get().status_code, 302)
        self.client.logout()
        self.assertRedirects(self.get(), "/admin/login/?next=/logs/last-requests.json",
                             fetch_redirect_response=False)
        self.assertEqual(self.helper.calls, [])
