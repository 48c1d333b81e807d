"""The admin's voice check against the fake AVS and a real in-process skill.

Only the root helper is mocked (at ``run_helper``): it answers ``logs`` with the skill's real
log lines, captured as the skill wrote them while the fake Alexa talked to it.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from django.test import override_settings
from django.urls import reverse

from appliance.catalogue.models import Skill
from appliance.console import voicecheck
from appliance.deploy.client import HelperError
from appliance.test import MEMORY_GAME, BaseTestCase
from skills.voice.testing import FakeAVS, FakeLWA

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not shutil.which("espeak-ng"),
                       reason="espeak-ng makes the spoken request (.ci/run installs it)"),
]


class SkillLog(logging.Handler):
    """The skill's log as journald would keep it, for the fake helper to hand out."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.entries: list[dict] = []

    def emit(self, record):
        self.entries.append({
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "message": f"{record.levelname} {record.name}: {record.getMessage()}"})


class VoiceCheckTests(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.skill = Skill.objects.create(slug="memory-game", name="Memory Game",
                                          source="memory_game", port=8101)
        self.tmp = Path(tempfile.mkdtemp(prefix="voicecheck-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.skill_log = SkillLog()
        runtime = logging.getLogger("skills.runtime")
        runtime.addHandler(self.skill_log)
        old_level = runtime.level
        runtime.setLevel(logging.INFO)
        self.addCleanup(runtime.removeHandler, self.skill_log)
        self.addCleanup(runtime.setLevel, old_level)
        self.helper_calls = []
        self.helper_broken = False
        patcher = mock.patch("appliance.console.services.run_helper", self.run_helper)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.lwa = FakeLWA().__enter__()
        self.addCleanup(self.lwa.__exit__, None, None, None)
        self.login()

    def run_helper(self, *args, timeout=None, check=True):
        self.helper_calls.append(args)
        if self.helper_broken:
            raise HelperError("journalctl failed: permission denied", {"ok": False}, 1)
        assert args[:2] == ("logs", "alexa-skill-memory-game"), args
        return {"ok": True, "name": args[1], "entries": list(self.skill_log.entries)}

    def fake_avs(self, skill=MEMORY_GAME) -> FakeAVS:
        avs = FakeAVS(skill, lwa=self.lwa).start()
        self.addCleanup(avs.stop)
        avs.hear("open memory game")
        return avs

    def check(self, store: Path | None = None):
        with override_settings(APPLIANCE_AVS_CONFIG=str(store or self.tmp / "avs.json")):
            return self.client.post(reverse("console:voice_check", args=["memory-game"]))

    def test_a_verified_launch_in_the_skill_log_proves_the_chain(self):
        avs = self.fake_avs()
        store = avs.store(self.tmp / "avs.json").path
        answer = self.check(store)
        result = answer.context["result"]
        self.assertTrue(result["ok"], result["message"])
        self.assertEqual(result["asked"], "open memory game")
        self.assertIn("Welcome to memory game", result["caption"])
        self.assertIn("logged a verified LaunchRequest (amzn1.echo-api.request.",
                      result["message"])
        self.assertContains(answer, '<audio controls src="/skills/memory-game/voice/answer.mp3')
        self.assertEqual(self.helper_calls[0], ("logs", "alexa-skill-memory-game",
                                                "--lines", "200"))
        mp3 = self.client.get(reverse("console:voice_check_audio", args=["memory-game"]))
        self.assertEqual(mp3["Content-Type"], "audio/mpeg")
        self.assertGreater(len(b"".join(mp3.streaming_content)), 100)

    def test_without_a_link_the_page_says_how_to_link(self):
        with override_settings(APPLIANCE_AVS_CONFIG=str(self.tmp / "none.json")):
            page = self.client.get(reverse("console:voice_check", args=["memory-game"]))
        self.assertContains(page, "AVS is not linked")
        self.assertContains(page, 'id="run-voice-check" disabled')
        self.assertContains(page, 'href="/skills/memory-game/voice/"')  # the tab

    def test_an_unreachable_avs_is_named(self):
        with FakeAVS(lwa=self.lwa) as avs:
            store = avs.store(self.tmp / "avs.json").path
        with mock.patch.object(voicecheck.AVSClient, "__init__", partial_init(1.0)):
            result = self.check(store).context["result"]
        self.assertEqual(result["link"], "avs")
        self.assertIn("is unreachable", result["message"])
        self.assertEqual(self.helper_calls, [])

    def test_a_malformed_answer_from_avs_is_named_in_words_not_a_server_error(self):
        avs = self.fake_avs()
        avs.garble_next()
        page = self.check(avs.store(self.tmp / "avs.json").path)
        self.assertEqual(page.status_code, 200)
        result = page.context["result"]
        self.assertEqual(result["link"], "avs")
        self.assertIn("AVS: AVS sent a malformed answer", result["message"])
        self.assertContains(page, "AVS sent a malformed answer")
        self.assertEqual(self.helper_calls, [])

    def test_alexa_not_opening_the_skill_is_named(self):
        avs = self.fake_avs(skill=None)  # an Alexa that knows no such skill
        result = self.check(avs.store(self.tmp / "avs.json").path).context["result"]
        self.assertEqual(result["link"], "alexa")
        self.assertIn("Alexa did not open the skill: it answered “Sorry, I don't know that.”",
                      result["message"])

    def test_a_request_that_never_reached_the_skill_is_named(self):
        avs = self.fake_avs()
        store = avs.store(self.tmp / "avs.json").path
        self.skill_log.entries.clear()
        with mock.patch.object(voicecheck, "LOG_WAIT", 0.6), \
                mock.patch.object(self.skill_log, "emit", lambda record: None):
            result = self.check(store).context["result"]
        self.assertEqual(result["link"], "skill")
        self.assertIn("the skill never received it", result["message"])
        self.assertIn("Welcome to memory game", result["caption"])

    def test_a_request_refused_by_verification_is_named(self):
        from skills.dialog.session import Dialog
        from skills.runtime.testing import TestPKI

        dialog = Dialog.for_skill(MEMORY_GAME)
        dialog.client.pki = TestPKI()  # signs with a chain the skill does not trust
        avs = self.fake_avs(skill=dialog)
        result = self.check(avs.store(self.tmp / "avs.json").path).context["result"]
        self.assertEqual(result["link"], "verification", result["message"])
        self.assertIn("verification refused it", result["message"])

    def test_an_unreadable_skill_log_is_named(self):
        avs = self.fake_avs()
        self.helper_broken = True
        result = self.check(avs.store(self.tmp / "avs.json").path).context["result"]
        self.assertEqual(result["link"], "logs")
        self.assertIn("permission denied", result["message"])


def partial_init(connect_timeout: float):
    original = voicecheck.AVSClient.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **{**kwargs, "connect_timeout": connect_timeout})
    return init
