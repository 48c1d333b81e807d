import base64

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509 import load_pem_x509_certificates
from django.test import override_settings
from django.urls import reverse

from appliance.catalogue.models import Skill
from appliance.test import MEMORY_GAME_MODEL, BaseTestCase
from skills.runtime.testing.client import CERT_URL

from ..ca import ConsoleCA
from .fakes import FakeCaddy, alexa_reply


class TestConsoleTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.skill = Skill.objects.create(slug="memory-game", name="Memory Game",
                                          source="memory_game", port=8101,
                                          interaction_model=MEMORY_GAME_MODEL)
        self.url = reverse("console:test_console", args=["memory-game"])
        self.caddy = FakeCaddy().__enter__()
        self.addCleanup(self.caddy.__exit__, None, None, None)
        layout = override_settings(APPLIANCE_LAYOUT=str(self.caddy.layout))
        layout.enable()
        self.addCleanup(layout.disable)
        self.login()

    def say(self, **data):
        return self.client.post(self.url, data, follow=True)

    def test_it_sends_a_signed_launch_through_caddy_with_the_skills_name(self):
        self.caddy.answer = lambda env: (200, alexa_reply(
            "Welcome to memory game.", reprompt="Say yes.",
            card={"type": "Simple", "title": "Memory Game", "content": "Say yes to start."}))
        r = self.say(action="launch")
        self.assertContains(r, "Welcome to memory game.")
        self.assertContains(r, "Say yes.")
        self.assertContains(r, "Card: Memory Game")
        sent = self.caddy.requests[0]
        self.assertEqual(self.caddy.server_names, ["memory-game.localhost"])
        self.assertEqual(sent["headers"]["Host"], "memory-game.localhost")
        self.assertTrue(sent["headers"]["SignatureCertChainUrl"])
        self.assertTrue(sent["headers"]["Signature-256"])
        self.assertNotEqual(sent["headers"]["SignatureCertChainUrl"], CERT_URL)
        self.assertEqual(sent["envelope"]["request"]["type"], "LaunchRequest")
        self.assertTrue(sent["envelope"]["session"]["new"])

    def test_the_signature_verifies_with_the_console_leaf(self):
        self.caddy.answer = lambda env: (200, alexa_reply("Hi"))
        self.say(action="launch")
        sent = self.caddy.requests[0]
        leaf = load_pem_x509_certificates(ConsoleCA.load_or_create().chain_pem)[0]
        leaf.public_key().verify(base64.b64decode(sent["headers"]["Signature-256"]),
                                 sent["body"], padding.PKCS1v15(), hashes.SHA256())

    def test_the_session_and_its_attributes_carry_over_to_the_next_turn(self):
        replies = iter([alexa_reply("Welcome"),
                        alexa_reply("Repeat 1, 2, 3 backwards", {"numbers": [3, 2, 1]}),
                        alexa_reply("Good job!", end=True)])
        self.caddy.answer = lambda env: (200, next(replies))
        self.say(action="launch")
        r = self.say(action="utterance", utterance="yes")
        self.assertContains(r, "&quot;numbers&quot;")
        r = self.say(action="utterance", utterance="3 2 1")
        self.assertContains(r, "Good job!")
        first, second, third = (req["envelope"] for req in self.caddy.requests)
        self.assertEqual(second["session"]["sessionId"], first["session"]["sessionId"])
        self.assertFalse(second["session"]["new"])
        self.assertEqual(second["request"]["intent"]["name"], "AMAZON.YesIntent")
        self.assertEqual(third["session"]["attributes"], {"numbers": [3, 2, 1]})
        slots = third["request"]["intent"]["slots"]
        self.assertEqual([slots[n]["value"] for n in ("first", "second", "third")],
                         ["3", "2", "1"])
        self.assertContains(r, "No session: the next request opens a new one.")

    def test_it_sends_a_picked_intent_with_its_slots(self):
        self.caddy.answer = lambda env: (200, alexa_reply("ok"))
        self.say(action="intent", intent="AnswerIntent", **{
            "slot-AnswerIntent-first": "4", "slot-AnswerIntent-second": "5",
            "slot-AnswerIntent-third": ""})
        intent = self.caddy.requests[0]["envelope"]["request"]["intent"]
        self.assertEqual(intent["name"], "AnswerIntent")
        self.assertEqual(intent["slots"]["first"]["value"], "4")
        self.assertNotIn("value", intent["slots"]["third"])

    def test_it_refuses_an_intent_the_model_does_not_have(self):
        r = self.say(action="intent", intent="OrderPizzaIntent")
        self.assertContains(r, "has no intent &#x27;OrderPizzaIntent&#x27;")
        self.assertEqual(self.caddy.requests, [])

    def test_it_refuses_an_utterance_nothing_matches(self):
        Skill.objects.filter(pk=self.skill.pk).update(
            interaction_model=MEMORY_GAME_MODEL.replace("AMAZON.FallbackIntent", "X.Fallback"))
        r = self.say(action="utterance", utterance="order a pizza")
        self.assertContains(r, "Nothing in the interaction model matches")
        self.assertEqual(self.caddy.requests, [])

    def test_it_refuses_a_skill_whose_console_switch_is_off(self):
        Skill.objects.filter(pk=self.skill.pk).update(test_console=False)
        r = self.say(action="launch")
        self.assertContains(r, "does not trust the console")
        self.assertEqual(self.caddy.requests, [])

    def test_a_session_ended_request_closes_the_session(self):
        self.caddy.answer = lambda env: (200, alexa_reply("Welcome"))
        self.say(action="launch")
        self.caddy.answer = lambda env: (200, {"version": "1.0", "response": {}})
        r = self.say(action="end")
        self.assertEqual(self.caddy.requests[1]["envelope"]["request"]["type"],
                         "SessionEndedRequest")
        self.assertContains(r, "No session: the next request opens a new one.")

    def test_new_session_forgets_the_dialogue(self):
        self.caddy.answer = lambda env: (200, alexa_reply("Welcome", {"a": 1}))
        self.say(action="launch")
        r = self.say(action="reset")
        self.assertContains(r, "A new session starts with the next request.")
        self.assertContains(r, "Nothing said yet")

    def test_caddy_not_listening_is_a_message_not_a_traceback(self):
        self.caddy.stop()
        r = self.say(action="launch")
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "Could not reach Caddy on 127.0.0.1")

    def test_a_refused_request_shows_the_status_and_body(self):
        self.caddy.answer = lambda env: (400, b"signature rejected")
        r = self.say(action="launch")
        self.assertContains(r, "HTTP 400 without an Alexa response")
        self.assertContains(r, "signature rejected")

    def test_the_index_opens_the_first_skill(self):
        r = self.client.get(reverse("console:test_console_index"))
        self.assertRedirects(r, self.url, fetch_redirect_response=False)

    def test_the_index_without_skills_says_so(self):
        Skill.objects.all().delete()
        r = self.client.get(reverse("console:test_console_index"))
        self.assertContains(r, "There are no skills to talk to yet.")

    def test_the_page_lists_the_models_intents_and_slots(self):
        r = self.client.get(self.url)
        self.assertContains(r, '<option value="AnswerIntent"')
        self.assertContains(r, 'name="slot-AnswerIntent-second"')

    def test_it_is_for_staff_only(self):
        self.login(self.bob)
        r = self.client.post(self.url, {"action": "launch"})
        self.assertEqual(r.status_code, 302)
        self.assertEqual(self.caddy.requests, [])
