"""The dialog engine: Memory Game played by typed text, the session and dialog state carried."""

from __future__ import annotations

import copy
import json
import re
import textwrap
from pathlib import Path

import pytest

from skills.dialog import Dialog, render_turn, ssml_to_text
from skills.dialog.numbers import SMALL

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
MEMORY_GAME = REPO / "skills" / "memory_game"
SPOKEN = {value: word for word, value in SMALL.items()}


def shown_numbers(speech: str) -> list[int]:
    """The three numbers of the round, read from what Alexa said."""
    found = re.search(r"numbers (\d), (\d), (\d) backwards", speech)
    assert found, speech
    return [int(n) for n in found.groups()]


@pytest.fixture
def game():
    dialog = Dialog.for_skill(MEMORY_GAME)
    yield dialog
    dialog.end()


# Memory Game, typed ------------------------------------------------------------------------

def test_memory_game_won_by_typed_words(game):
    launch = game.say("open memory game")
    assert launch.speech.startswith("Welcome to memory game.")
    assert launch.card["title"] == "Memory Game" and launch.expects_answer
    round_ = game.say("I'm ready")
    assert round_.request["intent"]["name"] == "AMAZON.YesIntent"
    backwards = [SPOKEN[n] for n in reversed(shown_numbers(round_.speech))]
    answer = game.say(f"it's {backwards[0]} {backwards[1]} and {backwards[2]}")
    assert answer.request["intent"]["name"] == "AnswerIntent"
    assert answer.speech == "Good job!"
    assert answer.ends_session and not answer.expects_answer and not game.in_session


def test_memory_game_lost_by_typed_digits(game):
    game.say("open memory game")
    shown = shown_numbers(game.say("yes").speech)
    wrong = shown  # in the order shown, not backwards (wrong unless a palindrome)
    if wrong == wrong[::-1]:
        wrong = [(n + 1) % 10 for n in wrong]
    answer = game.say(" ".join(str(n) for n in wrong))
    assert answer.speech.startswith("Sorry, that's the wrong answer. It was ")
    assert answer.speech.endswith(", ".join(str(n) for n in shown[::-1]) + ".")
    assert answer.ends_session


def test_the_session_is_carried_like_alexa_carries_it(game, monkeypatch):
    envelopes = []
    send = game.client.envelope
    monkeypatch.setattr(game.client, "envelope",
                        lambda request, **o: envelopes.append(send(request, **o)) or envelopes[-1])
    game.say("open memory game")
    round_ = game.say("yes")
    help_ = game.say("how do I play")
    game.say("stop")  # the skill ends the session
    game.say("ask memory game to start")  # a one-shot opens a new one
    assert [e["session"]["new"] for e in envelopes] == [True, False, False, False, True]
    assert len({e["session"]["sessionId"] for e in envelopes[:4]}) == 1
    assert envelopes[4]["session"]["sessionId"] != envelopes[0]["session"]["sessionId"]
    # The attributes the skill returned go back with the next request: help knows the round.
    shown = round_.reply.attributes["shown"]
    assert envelopes[1]["session"]["attributes"] == {}
    assert envelopes[2]["session"]["attributes"]["shown"] == shown
    assert help_.speech.startswith(f"Say the numbers {', '.join(map(str, shown))}")
    assert envelopes[4]["session"]["attributes"] == {}
    assert envelopes[4]["request"]["intent"]["name"] == "AMAZON.YesIntent"


def test_a_one_shot_keeps_the_whole_line_for_recordings(game):
    turn = game.say("Ask memory game to start")
    assert turn.said == "Ask memory game to start"
    assert turn.request["intent"]["name"] == "AMAZON.YesIntent"


def test_exit_silence_and_unmatched_words(game):
    assert game.say("exit").error == "No session is open."
    game.say("open memory game")
    reprompt = game.silence()
    assert reprompt.speech == "Say yes to start a round, or stop to quit."
    assert reprompt.requests == [] and reprompt.expects_answer
    ended = game.say("")
    assert ended.request["type"] == "SessionEndedRequest"
    assert ended.request["reason"] == "EXCEEDED_MAX_REPROMPTS" and ended.ends_session
    game.say("open memory game")
    fallback = game.say("order a pizza")
    assert fallback.request["intent"]["name"] == "AMAZON.FallbackIntent"
    exit_ = game.say("exit")
    assert exit_.request["reason"] == "USER_INITIATED" and exit_.speech is None
    assert not game.in_session


def test_without_a_fallback_intent_nothing_is_sent(tmp_path):
    skill = copy_skill(MEMORY_GAME, tmp_path, lambda m: m["languageModel"]["intents"].pop(6))
    dialog = Dialog.for_skill(skill)
    dialog.say("open memory game")
    turn = dialog.say("order a pizza")
    assert turn.requests == [] and "No intent matched 'order a pizza'" in turn.error
    assert dialog.in_session


def test_an_invalid_response_is_apologised_for_and_ends_the_session(game, monkeypatch):
    game.say("open memory game")
    real_post = game.client.post
    monkeypatch.setattr(game.client, "post",
                        lambda body, headers, *a: real_post(body, {}, *a))  # unsigned: 400
    turn = game.say("yes")
    assert turn.speech == "There was a problem with the requested skill's response"
    assert turn.error.startswith("HTTP 400")
    assert [r["type"] for r in turn.requests] == ["IntentRequest", "SessionEndedRequest"]
    assert turn.requests[1]["reason"] == "ERROR"
    assert turn.requests[1]["error"]["type"] == "INVALID_RESPONSE"
    assert not game.in_session


# A Flask-Ask era skill ----------------------------------------------------------------------

LEGACY_APP = '''
from flask import Flask
from flask_ask import Ask, question, statement

app = Flask(__name__)
ask = Ask(app, "/")


@ask.launch
def launch():
    return question("What colour?")


@ask.intent("ColourIntent", mapping={"colour": "Colour"})
def colour(colour):
    return statement(f"You said {colour}.")
'''


def test_a_legacy_skill_talks_from_its_speech_assets(tmp_path):
    folder = tmp_path / "colour_picker"
    assets = folder / "speech_assets"
    (assets / "customSlotTypes").mkdir(parents=True)
    (folder / "colours.py").write_text(LEGACY_APP)
    (assets / "IntentSchema.json").write_text(json.dumps({"intents": [
        {"intent": "ColourIntent", "slots": [{"name": "Colour", "type": "LIST_OF_COLOURS"}]}]}))
    (assets / "SampleUtterances.txt").write_text("ColourIntent my colour is {Colour}\n"
                                                 "ColourIntent {red|Colour}\n")
    (assets / "customSlotTypes" / "LIST_OF_COLOURS").write_text("red\ngreen\nsky blue\n")
    dialog = Dialog.for_skill(folder / "colours.py")
    assert dialog.model.invocation_name == "colour picker"
    assert dialog.say("open colour picker").speech == "What colour?"
    turn = dialog.say("sky blue")
    assert turn.request["intent"]["slots"]["Colour"]["value"] == "sky blue"
    assert turn.speech == "You said sky blue."


# Dialog management --------------------------------------------------------------------------

TRIP_APP = '''
from flask import Flask

from skills.runtime import Ask, delegate, elicit_slot, request, resolution, session, statement

app = Flask(__name__)
ask = Ask(app, "/")


@ask.launch
def launch():
    return statement("Say plan a trip.")


@ask.intent("PlanTripIntent")
def plan(city, date):
    session.attributes["steps"] = session.attributes.get("steps", 0) + 1
    if request.dialogState != "COMPLETED":
        if city and resolution("city").status == "ER_SUCCESS_NO_MATCH":
            return elicit_slot("city", "I only know Paris and London. Which city?")
        return delegate()
    if request.intent.confirmationStatus == "DENIED":
        return statement("Okay, no trip.")
    new = " New session." if session.new else ""
    return statement(f"Booked {city} on {date} after {session.attributes['steps']} steps.{new}")


@ask.intent("AMAZON.StopIntent")
def stop():
    return statement("Bye.")
'''

TRIP_MODEL = {"interactionModel": {
    "languageModel": {
        "invocationName": "trip planner",
        "intents": [
            {"name": "AMAZON.StopIntent", "samples": []},
            {"name": "AMAZON.YesIntent", "samples": []},
            {"name": "AMAZON.NoIntent", "samples": []},
            {"name": "PlanTripIntent",
             "slots": [{"name": "city", "type": "CityType", "samples": ["to {city}"]},
                       {"name": "date", "type": "AMAZON.DATE", "samples": ["on {date}"]}],
             "samples": ["plan a trip", "plan a trip to {city}"]},
        ],
        "types": [{"name": "CityType", "values": [
            {"id": "PAR", "name": {"value": "paris", "synonyms": ["city of light"]}},
            {"id": "LON", "name": {"value": "london"}}]}],
    },
    "dialog": {
        "delegationStrategy": "SKILL_RESPONSE",
        "intents": [{
            "name": "PlanTripIntent", "confirmationRequired": True,
            "prompts": {"confirmation": "Confirm.Intent"},
            "slots": [
                {"name": "city", "type": "CityType", "elicitationRequired": True,
                 "confirmationRequired": False, "prompts": {"elicitation": "Elicit.City"}},
                {"name": "date", "type": "AMAZON.DATE", "elicitationRequired": True,
                 "confirmationRequired": False, "prompts": {"elicitation": "Elicit.Date"}},
            ]}],
    },
    "prompts": [
        {"id": "Elicit.City", "variations": [{"type": "PlainText", "value": "Which city?"}]},
        {"id": "Elicit.Date", "variations": [
            {"type": "SSML", "value": "<speak>When do you go to {city}?</speak>"}]},
        {"id": "Confirm.Intent", "variations": [
            {"type": "PlainText", "value": "A trip to {city} on {date}, right?"}]},
    ],
}}


def copy_skill(source: Path | None, tmp_path: Path, change=None, app: str | None = None):
    """A skill in tmp: ``source``'s files or ``app``'s code, its model edited by ``change``."""
    target = tmp_path / "skill"
    model_dir = target / "skill-package" / "interactionModels" / "custom"
    model_dir.mkdir(parents=True)
    if source is not None:
        (target / "app.py").write_text((source / "app.py").read_text())
        (target / "templates.yaml").write_text((source / "templates.yaml").read_text())
        model = json.loads((source / "skill-package/interactionModels/custom/en-US.json")
                           .read_text())
    else:
        (target / "app.py").write_text(textwrap.dedent(app))
        model = copy.deepcopy(TRIP_MODEL)
    if change is not None:
        change(model["interactionModel"])
    (model_dir / "en-US.json").write_text(json.dumps(model))
    return target


def trip(tmp_path, change=None) -> Dialog:
    return Dialog.for_skill(copy_skill(None, tmp_path, change, app=TRIP_APP))


def states(turn) -> list[str]:
    return [r.get("dialogState") for r in turn.requests]


def test_dialog_state_follows_delegate_from_started_to_completed(tmp_path):
    dialog = trip(tmp_path)
    dialog.say("open trip planner")  # a statement: the session ends
    started = dialog.say("plan a trip to city of light")
    assert states(started) == ["STARTED"]
    assert started.request["intent"]["slots"]["city"]["resolutions"][
        "resolutionsPerAuthority"][0]["values"][0]["value"] == {"name": "paris", "id": "PAR"}
    # The skill delegated: Alexa asks for the next required slot from the model's prompts.
    assert started.speech == "When do you go to city of light?"
    assert started.spoken_by == "dialog model" and started.expects_answer
    date = dialog.say("on friday")
    assert states(date) == ["IN_PROGRESS"]
    assert date.request["intent"]["slots"]["date"]["value"] == "friday"
    assert date.speech == "A trip to city of light on friday, right?"
    done = dialog.say("yes")
    # Confirmed, the skill delegates once more and Alexa sends COMPLETED in the same turn.
    assert states(done) == ["IN_PROGRESS", "COMPLETED"]
    assert done.requests[-1]["intent"]["confirmationStatus"] == "CONFIRMED"
    assert done.speech == "Booked paris on friday after 4 steps."
    assert done.ends_session and dialog.active is None


def test_an_elicit_slot_from_the_skill_is_answered_in_the_dialog(tmp_path):
    dialog = trip(tmp_path)
    turn = dialog.say("plan a trip to atlantis")
    assert turn.speech == "I only know Paris and London. Which city?"
    assert [d["type"] for d in turn.directives] == ["Dialog.ElicitSlot"]
    turn = dialog.say("london")
    assert states(turn) == ["IN_PROGRESS"]
    assert turn.request["intent"]["slots"]["city"]["value"] == "london"
    assert turn.speech == "When do you go to london?"
    assert dialog.say("on monday").speech == "A trip to london on monday, right?"
    assert dialog.say("no").speech == "Okay, no trip."


def test_another_intent_leaves_the_dialog(tmp_path):
    dialog = trip(tmp_path)
    assert dialog.say("plan a trip").speech == "Which city?"
    turn = dialog.say("stop")
    assert turn.request["intent"]["name"] == "AMAZON.StopIntent" and turn.speech == "Bye."
    assert dialog.active is None


def test_with_auto_delegation_the_skill_only_sees_completed(tmp_path):
    dialog = trip(tmp_path, lambda m: m["dialog"].update(delegationStrategy="ALWAYS"))
    first = dialog.say("plan a trip")
    assert first.requests == [] and first.speech == "Which city?" and dialog.in_session
    assert first.expects_answer and render_turn(first).splitlines() == [
        "Alexa (dialog model): Which city?", "  (listening)"]
    assert dialog.say("to paris").requests == []
    assert dialog.say("tomorrow").speech == "A trip to paris on tomorrow, right?"
    done = dialog.say("yes")
    assert states(done) == ["COMPLETED"]
    # The first request the skill sees opens its session.
    assert done.speech == "Booked paris on tomorrow after 1 steps. New session."


# Rendering ----------------------------------------------------------------------------------

def test_ssml_is_rendered_readable():
    ssml = ('<speak><p>Hello <emphasis level="strong">there</emphasis>.</p>'
            '<s>Say <say-as interpret-as="digits">42</say-as></s><break time="1s"/>'
            '<sub alias="World Wide Web Consortium">W3C</sub> &amp; '
            '<audio src="https://example.com/ding.mp3"/> done</speak>')
    assert ssml_to_text(ssml) == ("Hello there. Say 42 World Wide Web Consortium & "
                                  "[audio: https://example.com/ding.mp3] done")


def test_a_turn_renders_requests_speech_reprompt_card_and_state(game):
    text = render_turn(game.say("open memory game"))
    assert text.splitlines() == [
        "  → LaunchRequest",
        "Alexa: Welcome to memory game. I'm going to say three numbers for you to repeat "
        "backwards. Ready?",
        "  (reprompt) Say yes to start a round, or stop to quit.",
        '  [card Simple] Memory Game: I say three numbers, you repeat them backwards. Say "yes" '
        "to start.",
        "  (listening)",
    ]
    assert "→ AnswerIntent first=1 second=2 third=3" in render_turn(game.say("1 2 3"))
