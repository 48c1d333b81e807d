"""The dialog's matcher: typed words → intent and slots, filled as Alexa fills them."""

from __future__ import annotations

import pytest

from skills.dialog import InteractionModel, Matcher, load_model
from skills.dialog.matcher import generated_id, words
from skills.dialog.numbers import parse_number
from skills.dialog.session import parse_invocation

pytestmark = pytest.mark.unit

SKILL_ID = "amzn1.ask.skill.11111111-2222-3333-4444-555555555555"
AUTHORITY = f"amzn1.er-authority.echo-sdk.{SKILL_ID}.DrinkType"

MODEL = {"interactionModel": {"languageModel": {
    "invocationName": "coffee shop",
    "intents": [
        {"name": "AMAZON.HelpIntent", "samples": []},
        {"name": "AMAZON.StopIntent", "samples": []},
        {"name": "AMAZON.YesIntent", "samples": []},
        {"name": "AMAZON.NoIntent", "samples": []},
        {"name": "AMAZON.NavigateHomeIntent", "samples": []},
        {"name": "AMAZON.FallbackIntent", "samples": []},
        {"name": "OrderIntent",
         "slots": [{"name": "count", "type": "AMAZON.NUMBER"},
                   {"name": "drink", "type": "DrinkType"}],
         "samples": ["I want {count} {drink}", "order {count} {drink} please",
                     "order a {drink}", "{count} {drink}"]},
        {"name": "SearchIntent", "slots": [{"name": "query", "type": "AMAZON.SearchQuery"}],
         "samples": ["search for {query}", "look up {query}"]},
        {"name": "NameIntent", "slots": [{"name": "name", "type": "AMAZON.FirstName"}],
         "samples": ["my name is {name}", "{name}"]},
        {"name": "YearIntent", "slots": [{"name": "year", "type": "AMAZON.FOUR_DIGIT_NUMBER"}],
         "samples": ["the year {year}"]},
    ],
    "types": [{"name": "DrinkType", "values": [
        {"id": "LATTE", "name": {"value": "latte", "synonyms": ["caffe latte", "milk coffee"]}},
        {"id": "ESPRESSO", "name": {"value": "espresso", "synonyms": ["short black"]}},
        {"name": {"value": "flat white", "synonyms": ["white coffee", "milk coffee"]}},
    ]}],
}}}


@pytest.fixture(scope="module")
def matcher():
    return Matcher(InteractionModel.from_dict(MODEL), SKILL_ID)


@pytest.mark.parametrize(("said", "number"), [
    ("7", 7), ("three", 3), ("twenty one", 21), ("twenty-one", 21), ("a hundred and five", 105),
    ("one hundred five", 105), ("two thousand and twenty four", 2024), ("a thousand", 1000),
    ("twelve hundred", 1200), ("minus five", -5), ("zero", 0), ("1,000", 1000),
    ("one two", None), ("hundred", None), ("five hundred and", None), ("a", None),
])
def test_numbers_as_people_say_them(said, number):
    assert parse_number(words(said)) == number


@pytest.mark.parametrize(("said", "intent", "values"), [
    # numbers as words and digits
    ("I want 2 lattes", "OrderIntent", {"count": "2", "drink": "lattes"}),
    ("I want twenty one espresso", "OrderIntent", {"count": "21", "drink": "espresso"}),
    ("order a hundred and five short black please", "OrderIntent",
     {"count": "105", "drink": "short black"}),
    ("three latte", "OrderIntent", {"count": "3", "drink": "latte"}),
    ("order a flat white", "OrderIntent", {"count": None, "drink": "flat white"}),
    # catch-all slots take the rest of the utterance
    ("search for the best coffee in town", "SearchIntent",
     {"query": "the best coffee in town"}),
    ("Look up: what's a cortado?", "SearchIntent", {"query": "what is a cortado"}),
    ("my name is Ada Lovelace", "NameIntent", {"name": "ada lovelace"}),
    ("the year 1984", "YearIntent", {"year": "1984"}),
    ("the year one nine eight four", "YearIntent", {"year": "1984"}),
    # built-in phrases of the intents the model declares
    ("help", "AMAZON.HelpIntent", {}),
    ("What can I say?", "AMAZON.HelpIntent", {}),
    ("stop", "AMAZON.StopIntent", {}),
    ("cancel", "AMAZON.StopIntent", {}),  # no CancelIntent declared: Stop takes it
    ("yes", "AMAZON.YesIntent", {}),
    ("nope", "AMAZON.NoIntent", {}),
    ("go home", "AMAZON.NavigateHomeIntent", {}),
    # unmatched → fallback ("{name}" alone does not swallow any words: a catch-all type)
    ("play some jazz", "AMAZON.FallbackIntent", {}),
    ("three pizzas", "OrderIntent", {"count": "3", "drink": "pizzas"}),  # custom: open-ended
    ("the year 84", "AMAZON.FallbackIntent", {}),
])
def test_slot_matching_table(matcher, said, intent, values):
    match = matcher.match(said)
    assert (match.intent, match.values()) == (intent, values)


def test_a_synonym_resolves_to_its_value_and_id_as_alexa_fills_it(matcher):
    slot = matcher.match("I want 2 caffe latte").slots["drink"]
    resolutions = {"resolutionsPerAuthority": [{
        "authority": AUTHORITY,
        "status": {"code": "ER_SUCCESS_MATCH"},
        "values": [{"value": {"name": "latte", "id": "LATTE"}}],
    }]}
    assert slot == {"name": "drink", "value": "caffe latte", "confirmationStatus": "NONE",
                    "source": "USER", "resolutions": resolutions,
                    "slotValue": {"type": "Simple", "value": "caffe latte",
                                  "resolutions": resolutions}}


def test_a_synonym_of_two_values_resolves_to_both_and_a_missing_id_is_generated(matcher):
    authority = matcher.match("order 1 milk coffee please").slots["drink"][
        "resolutions"]["resolutionsPerAuthority"][0]
    assert [v["value"] for v in authority["values"]] == [
        {"name": "latte", "id": "LATTE"},
        {"name": "flat white", "id": generated_id("flat white")}]


def test_an_unknown_value_is_kept_with_no_match(matcher):
    match = matcher.match("I want 2 mochas")
    authority = match.slots["drink"]["resolutions"]["resolutionsPerAuthority"][0]
    assert authority == {"authority": AUTHORITY, "status": {"code": "ER_SUCCESS_NO_MATCH"}}
    assert match.resolved() == {"count": "2", "drink": "mochas"}


def test_unfilled_slots_are_sent_without_a_value(matcher):
    request = matcher.match("order a latte").request(dialog_state="STARTED")
    assert request["intent"]["slots"]["count"] == {"name": "count", "confirmationStatus": "NONE"}
    assert request["dialogState"] == "STARTED"


def test_the_most_literal_words_win_then_the_surest_slots(matcher):
    # "{count} {drink}" fits too, but "I want {count} {drink}" has more literal words.
    assert matcher.match("I want 2 latte").sample == "I want {count} {drink}"
    # Two literal words each; a number and a known drink beat a drink named "hundred and…".
    assert matcher.match("order a hundred latte please").sample == "order {count} {drink} please"
    # A custom slot type is not a closed list: unknown words fill it, unresolved.
    assert matcher.match("order a pizza").values() == {"count": None, "drink": "pizza"}
    assert matcher.match("2 latte").sample == "{count} {drink}"


def test_without_a_fallback_intent_nothing_matches():
    data = {"interactionModel": {"languageModel": {"invocationName": "x y", "intents": [
        {"name": "AMAZON.StopIntent", "samples": []}]}}}
    assert Matcher(InteractionModel.from_dict(data)).match("order a pizza") is None


@pytest.mark.parametrize(("said", "sample"), [
    ("3 4 and 5", "{first} {second} and {third}"),
    ("three four and five", "{first} {second} and {third}"),
    ("It's 1, 2, 3.", "it's {first} {second} {third}"),
    ("it is twenty one two three", "it's {first} {second} {third}"),
])
def test_the_memory_games_answers(said, sample):
    match = Matcher(load_model("skills/memory_game")).match(said)
    assert (match.intent, match.sample) == ("AnswerIntent", sample)


@pytest.mark.parametrize(("said", "parsed"), [
    ("open memory game", (True, None)),
    ("Alexa, launch Memory Game", (True, None)),
    ("talk to memory game", (True, None)),
    ("ask memory game to start", (True, "start")),
    ("tell memory game that it's 1 2 3", (True, "it is 1 2 3")),
    ("open memory game and play again", (True, "play again")),
    ("start a round using memory game", (True, "start a round")),
    ("open the pod bay doors", None),
    ("start", None),
])
def test_launch_phrases(said, parsed):
    assert parse_invocation(said, "memory game") == parsed
