import json

import pytest

from appliance.catalogue.interaction import match_utterance, model_errors
from appliance.test import MEMORY_GAME_MODEL

pytestmark = pytest.mark.unit

MODEL = MEMORY_GAME_MODEL


def edited(change):
    data = json.loads(MODEL)
    change(data["interactionModel"]["languageModel"])
    return json.dumps(data)


def test_the_memory_games_model_is_valid():
    assert model_errors(MODEL) == []


@pytest.mark.parametrize(("change", "message"), [
    (lambda m: m.update(invocationName="Memory Game!"), "invocation name"),
    (lambda m: m.update(intents=[]), "no intents"),
    (lambda m: m["intents"].append({"name": "AnswerIntent"}), "defined twice"),
    (lambda m: m["intents"][-1]["slots"][0].update(type="NUMBERS"), "unknown type"),
    (lambda m: m["intents"][-1]["samples"].append("{zeroth} please"), "unknown slot {zeroth}"),
    (lambda m: m["intents"].append({"samples": ["x"]}), "needs a name"),
    (lambda m: m["intents"][0]["samples"].append("  "), "empty sample"),
])
def test_it_names_each_structural_problem(change, message):
    assert any(message in error for error in model_errors(edited(change)))


def test_it_refuses_what_is_not_a_model():
    assert "not JSON" in model_errors("{nope")[0]
    assert "languageModel is missing" in model_errors("{}")[0]


@pytest.mark.parametrize(("said", "intent", "slots"), [
    ("3 4 and 5", "AnswerIntent", {"first": "3", "second": "4", "third": "5"}),
    ("The numbers are 1 2 3.", "AnswerIntent", {"first": "1", "second": "2", "third": "3"}),
    ("yes", "AMAZON.YesIntent", {}),
    ("let's play", "AMAZON.YesIntent", {}),
    ("how do I play", "AMAZON.HelpIntent", {}),
    ("stop", "AMAZON.StopIntent", {}),
    ("order a pizza", "AMAZON.FallbackIntent", {}),
])
def test_typed_utterances_match_the_models_samples(said, intent, slots):
    assert match_utterance(MODEL, said) == (intent, slots)
