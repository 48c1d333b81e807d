"""The test console reads the ways Alexa is asked to open a skill as Alexa does, with the local
dialog's invocation rules: "open memory game" is a LaunchRequest, "ask memory game to …" the
intent the rest of the words match, each opening a session."""

from django.test import override_settings
from django.urls import reverse

from appliance.catalogue.models import Skill
from appliance.test import MEMORY_GAME_MODEL, BaseTestCase

from .fakes import FakeCaddy, alexa_reply


class InvocationTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        Skill.objects.create(slug="memory-game", name="Memory Game", source="memory_game",
                             port=8101, interaction_model=MEMORY_GAME_MODEL)
        self.url = reverse("console:test_console", args=["memory-game"])
        self.caddy = FakeCaddy().__enter__()
        self.addCleanup(self.caddy.__exit__, None, None, None)
        self.caddy.answer = lambda env: (200, alexa_reply("Hi"))
        layout = override_settings(APPLIANCE_LAYOUT=str(self.caddy.layout))
        layout.enable()
        self.addCleanup(layout.disable)
        self.login()

    def say(self, utterance):
        return self.client.post(self.url, {"action": "utterance", "utterance": utterance},
                                follow=True)

    def sent(self):
        return self.caddy.requests[-1]["envelope"]

    def test_open_start_and_launch_send_a_launch_request_in_a_new_session(self):
        for line in ("open memory game", "Alexa, start memory game", "launch memory game"):
            self.client.post(self.url, {"action": "reset"})
            r = self.say(line)
            self.assertEqual(self.sent()["request"]["type"], "LaunchRequest", line)
            self.assertTrue(self.sent()["session"]["new"], line)
            self.assertContains(r, f"“{line}” → LaunchRequest")

    def test_ask_name_to_words_sends_the_intent_the_words_match(self):
        r = self.say("ask memory game for help")
        self.assertEqual(self.sent()["request"]["type"], "IntentRequest")
        self.assertEqual(self.sent()["request"]["intent"]["name"], "AMAZON.HelpIntent")
        self.assertTrue(self.sent()["session"]["new"])
        self.assertContains(r, "“ask memory game for help” → AMAZON.HelpIntent")

    def test_open_name_and_a_request_sends_the_request(self):
        self.say("open memory game and yes")
        self.assertEqual(self.sent()["request"]["intent"]["name"], "AMAZON.YesIntent")

    def test_words_after_the_name_that_match_no_sample_go_to_the_fallback_intent(self):
        self.say("tell memory game to order a pizza")
        self.assertEqual(self.sent()["request"]["intent"]["name"], "AMAZON.FallbackIntent")

    def test_the_name_alone_is_not_an_invocation(self):
        # Without a launch phrase the words are matched as they are, as Alexa would in session.
        self.say("memory game")
        self.assertEqual(self.sent()["request"]["type"], "IntentRequest")
