"""The conversation skill through the dialog: its stop phrases end the session by typed text."""

from __future__ import annotations

from pathlib import Path

import pytest

from skills.dialog import Dialog

pytestmark = pytest.mark.unit

CONVERSATION = Path(__file__).resolve().parents[2] / "skills" / "conversation"
GOODBYE = "It was nice talking to you. Goodbye!"


@pytest.fixture
def chat(monkeypatch):
    for name in ("BEDROCK_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)  # never a model call from a unit test
    dialog = Dialog.for_skill(CONVERSATION)
    assert dialog.say("open chat buddy").speech.startswith("Hi! I'm your chat buddy.")
    yield dialog
    dialog.end()


@pytest.mark.parametrize(("said", "intent"), [
    ("okay, I'm done, thanks", "ChatIntent"),  # the catch-all slot, then the skill's phrases
    ("alright that's enough for today, bye", "ChatIntent"),
    ("I prefer to stop", "AMAZON.StopIntent"),  # a sample of the stop intent
    ("no thanks bye", "AMAZON.StopIntent"),
    ("stop", "AMAZON.StopIntent"),  # a built-in phrase
    ("cancel", "AMAZON.CancelIntent"),
])
def test_stop_phrases_end_the_session(chat, said, intent):
    turn = chat.say(said)
    assert turn.request["intent"]["name"] == intent
    assert turn.speech == GOODBYE
    assert turn.ends_session and not chat.in_session


def test_a_question_with_stop_in_it_goes_on_to_the_model(chat):
    turn = chat.say("how do I stop a leaking tap")
    slot = turn.request["intent"]["slots"]["utterance"]
    assert turn.request["intent"]["name"] == "ChatIntent"
    assert slot["value"] == "how do i stop a leaking tap"
    assert slot["resolutions"]["resolutionsPerAuthority"][0]["status"]["code"] == \
        "ER_SUCCESS_MATCH"  # one of CHAT_TEXT's example values
    # Not a goodbye: the skill tried its model, which this test run has not configured.
    assert turn.speech.startswith("Sorry, this skill isn't configured yet.")
