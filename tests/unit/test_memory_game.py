"""The Memory Game in-process: every turn a real user takes, and its skill package."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
import yaml
from flask import render_template

from skills.memory_game import app as game
from skills.runtime.testing import builders

pytestmark = pytest.mark.unit

GAME_DIR = Path(game.__file__).parent
MODEL = GAME_DIR / "skill-package" / "interactionModels" / "custom" / "en-US.json"
MANIFEST = GAME_DIR / "skill-package" / "skill.json"
SHOWN = [3, 8, 5]  # what Alexa says; the user must answer 5, 8, 3


@pytest.fixture
def skill_app():
    return game.app


@pytest.fixture(autouse=True)
def fixed_numbers(monkeypatch):
    """Alexa always says 3, 8, 5, so the spoken text can be checked word for word."""
    numbers = iter(SHOWN * 10)
    monkeypatch.setattr(game, "randint", lambda low, high: next(numbers))


def answer(alexa, first, second, third):
    return alexa.intent("AnswerIntent", {"first": first, "second": second, "third": third})


def start_round(alexa, intent="AMAZON.YesIntent"):
    alexa.launch()
    reply = alexa.intent(intent)
    assert reply.speech == "Can you repeat the numbers 3, 8, 5 backwards?"
    return reply


# Playing --------------------------------------------------------------------------------

def test_launch_welcomes_with_a_card_and_a_reprompt(alexa):
    reply = alexa.launch()
    assert reply.speech.startswith("Welcome to memory game.")
    assert reply.reprompt == "Say yes to start a round, or stop to quit."
    assert reply.ends_session is False
    assert reply.card["type"] == "Simple"
    assert reply.card["title"] == "Memory Game"


@pytest.mark.parametrize("intent", ["AMAZON.YesIntent", "YesIntent"])
def test_yes_starts_a_round_under_either_intent_name(alexa, intent):
    reply = start_round(alexa, intent)
    assert reply.ends_session is False
    assert reply.reprompt == "The numbers were 3, 8, 5. Say them backwards."
    assert reply.attributes["numbers"] == [5, 8, 3]


def test_the_numbers_backwards_win(alexa):
    start_round(alexa)
    reply = answer(alexa, 5, 8, 3)
    assert reply.speech == "Good job!"
    assert reply.ends_session is True


def test_wrong_numbers_lose_and_the_answer_says_the_right_ones(alexa):
    start_round(alexa)
    reply = answer(alexa, 3, 8, 5)
    assert reply.speech == "Sorry, that's the wrong answer. It was 5, 8, 3."
    assert reply.ends_session is True


def test_help_before_a_round_explains_the_game(alexa):
    alexa.launch()
    reply = alexa.intent("AMAZON.HelpIntent")
    assert reply.speech.startswith("I say three numbers and you say them back")
    assert reply.reprompt == "Say yes to start a round, or stop to quit."
    assert reply.ends_session is False


def test_help_during_a_round_repeats_the_numbers_and_keeps_the_round(alexa):
    start_round(alexa)
    reply = alexa.intent("AMAZON.HelpIntent")
    assert reply.speech == 'Say the numbers 3, 8, 5 in reverse order, for example "5 8 3".'
    assert reply.reprompt == "The numbers were 3, 8, 5. Say them backwards."
    assert reply.ends_session is False
    assert answer(alexa, 5, 8, 3).speech == "Good job!"


def test_an_answer_before_a_round_offers_one(alexa):
    alexa.launch()
    reply = answer(alexa, 1, 2, 3)
    assert reply.speech == "We haven't started a round yet. Ready for three numbers?"
    assert reply.ends_session is False


@pytest.mark.parametrize("slots", [
    {"first": "5", "second": "?", "third": "3"},  # Alexa's value for a number it missed
    {"first": "5", "second": None, "third": "3"},  # slot sent without a value
    {"first": "5", "third": "3"},  # slot absent altogether
    None,  # no slots at all
], ids=["question-mark", "unfilled", "absent", "no-slots"])
def test_missing_numbers_ask_again_and_keep_the_round(alexa, slots):
    start_round(alexa)
    reply = alexa.intent("AnswerIntent", slots)
    assert reply.status == 200
    assert reply.speech == "I need all three numbers. Repeat 3, 8, 5 backwards."
    assert reply.ends_session is False
    assert answer(alexa, 5, 8, 3).speech == "Good job!"


def test_no_ends_the_game(alexa):
    alexa.launch()
    reply = alexa.intent("AMAZON.NoIntent")
    assert reply.speech == "Okay, maybe next time. Goodbye!"
    assert reply.ends_session is True


@pytest.mark.parametrize("intent", ["AMAZON.StopIntent", "AMAZON.CancelIntent"])
def test_stop_and_cancel_say_goodbye(alexa, intent):
    start_round(alexa)
    reply = alexa.intent(intent)
    assert reply.speech == "Goodbye!"
    assert reply.ends_session is True


def test_fallback_keeps_the_session_open(alexa):
    alexa.launch()
    reply = alexa.intent("AMAZON.FallbackIntent")
    assert reply.speech == "Sorry, I didn't get that. Say yes to play, or stop to quit."
    assert reply.ends_session is False


def test_session_ended_answers_an_empty_response(alexa):
    start_round(alexa)
    reply = alexa.end_session("EXCEEDED_MAX_REPROMPTS")
    assert reply.status == 200
    assert reply.json == {"version": "1.0", "response": {}}


def test_navigate_home_leaves_the_game(alexa):
    start_round(alexa)
    reply = alexa.intent("AMAZON.NavigateHomeIntent")
    assert (reply.status, reply.speech, reply.ends_session) == (200, "Goodbye!", True)


# Templates ------------------------------------------------------------------------------

def _template_names() -> set[str]:
    """Every template name app.py can render: literals given to render_template and _ask."""
    tree = ast.parse((GAME_DIR / "app.py").read_text(encoding="utf-8"))
    assigned = {target.id: node.value for node in ast.walk(tree)
                if isinstance(node, ast.Assign) for target in node.targets
                if isinstance(target, ast.Name)}
    names = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in {"render_template", "_ask"} and node.args):
            first = node.args[0]
            if isinstance(first, ast.Name):
                # e.g. reprompt_name = "a" if ... else "b"; _ask's own parameter is skipped,
                # its callers pass literals.
                first = assigned.get(first.id, first)
            names |= _literals(first)
    return names


def _literals(expr: ast.expr) -> set[str]:
    """The strings ``expr`` can be: a literal, or either branch of ``a if c else b``."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return {expr.value}
    if isinstance(expr, ast.IfExp):
        return _literals(expr.body) | _literals(expr.orelse)
    return set()


def test_templates_yaml_has_every_name_the_app_renders():
    templates = yaml.safe_load((GAME_DIR / "templates.yaml").read_text(encoding="utf-8"))
    names = _template_names()
    assert {"welcome", "round", "win", "lose", "reprompt", "round_reprompt"} <= names
    assert names - set(templates) == set()


def test_every_template_renders():
    templates = yaml.safe_load((GAME_DIR / "templates.yaml").read_text(encoding="utf-8"))
    with game.app.app_context():
        for name in templates:
            assert render_template(name, numbers=SHOWN).strip(), name


# Skill package --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def language_model():
    return json.loads(MODEL.read_text(encoding="utf-8"))["interactionModel"]["languageModel"]


def test_the_invocation_name_is_memory_game(language_model):
    assert language_model["invocationName"] == "memory game"


def test_the_model_has_every_intent_the_app_handles(language_model):
    modelled = {intent["name"] for intent in language_model["intents"]}
    handled = set(game.ask._intents) - {"YesIntent"}  # the seed's name, for older models
    assert handled - modelled == set()
    required = {"AMAZON.StopIntent", "AMAZON.CancelIntent", "AMAZON.HelpIntent",
                "AMAZON.NavigateHomeIntent", "AMAZON.FallbackIntent"}
    assert required <= modelled


def test_answer_intent_slots_are_numbers_and_every_sample_uses_only_them(language_model):
    (intent,) = [i for i in language_model["intents"] if i["name"] == "AnswerIntent"]
    slots = {slot["name"]: slot["type"] for slot in intent["slots"]}
    assert slots == {"first": "AMAZON.NUMBER", "second": "AMAZON.NUMBER",
                     "third": "AMAZON.NUMBER"}
    assert set(slots) == set(game.NUMBERS)  # the handler's arguments
    assert intent["samples"]
    for sample in intent["samples"]:
        used = set(re.findall(r"{(\w+)}", sample))
        assert used <= set(slots), sample
    samples = [s.lower() for i in language_model["intents"] for s in i.get("samples", [])]
    assert len(samples) == len(set(samples)), "a sample is listed under two intents"


def test_skill_json_has_an_https_endpoint_and_a_certificate_type():
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))["manifest"]
    endpoint = manifest["apis"]["custom"]["endpoint"]
    assert endpoint["uri"].startswith("https://")
    assert endpoint["sslCertificateType"] in {"Trusted", "Wildcard", "SelfSigned"}


def test_an_answer_request_built_from_the_model_reaches_the_handler(alexa):
    # The slot names the model declares are the ones the request carries.
    start_round(alexa)
    request = builders.intent_request("AnswerIntent", {"first": 5, "second": 8, "third": 3})
    assert alexa.send(request).speech == "Good job!"
