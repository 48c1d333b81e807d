"""The conversation skill's stop phrases: whole utterances that end it, questions that do not."""

from __future__ import annotations

import logging

import pytest
import yaml

from skills.conversation import stop_phrases
from skills.conversation.stop_phrases import PatternError, StopPhrases, is_stop, normalise

pytestmark = pytest.mark.unit

# What people say to end a conversation, as Alexa transcribes it (case, punctuation, no
# apostrophe): every one must end the session without reaching the model.
ENDINGS = [
    "I prefer to stop",
    "I prefer to stop the conversation",
    "that's enough",
    "That's enough.",
    "I'm done",
    "Im done",
    "I\u2019m done",
    "no thanks, bye",
    "quit",
    "stop",
    "Stop, please!",
    "alexa stop",
    "okay I'm done thanks",
    "that's all for today, thanks",
    "we're done here",
    "I'd like to end this conversation",
    "I want to stop now",
    "I wish to end the chat",
    "can we stop now",
    "could you stop",
    "let's call it a day",
    "Let's stop here.",
    "goodbye",
    "bye bye",
    "thank you, goodbye",
    "ok bye",
    "see you later",
    "good night",
    "talk to you tomorrow",
    "I have to go",
    "gotta go",
    "I don't want to talk anymore",
    "that'll be all",
    "that is it",
    "enough",
    "enough of this",
    "end conversation",
    "exit the skill",
    "I'd rather stop",
    "nothing else, thanks",
    "no more questions",
    "no thank you",
    "I quit",
    "stop stop stop",
    "shut up",
    "never mind",
    "I'm finished talking",
    "please just stop",
    "we are all done",
    "I'm off to bed",
    "done",
    "well I guess that's enough for me",
]

# Questions and remarks that merely contain those words: every one goes to the model.
QUESTIONS = [
    "how do I stop a leaking tap",
    "tell me about bus stops",
    "what's enough sleep",
    "what's enough sleep for a ten year old",
    "why do people say goodbye",
    "what's the best way to say goodbye in French",
    "stop talking about dogs and tell me about cats",
    "I'm done with my homework, what should I do now",
    "can you help me finish my essay",
    "how do I end a letter politely",
    "when does the bus stop running",
    "is it okay to stop taking antibiotics early",
    "I want to stop smoking",
    "I'd like to end my subscription",
    "don't stop",
    "please don't stop",
    "I'm good at chess",
    "enough about me, how are you",
    "let's stop and think about this",
    "exit strategies for startups",
    "who sang stop in the name of love",
    "tell me a story about the end of the world",
    "I have to go to the dentist tomorrow",
    "how many stops does the train make",
    "I give up, what's the answer",
    "what does quit mean",
    "can we talk about something else",
    "is that all there is",
    "that's enough sugar for a cake",
    "thank you",
    "no",
    "yes",
    "okay",
    "",
    "quit quit quit " * 8,  # long: a word game, not a goodbye
]


def test_the_table_has_at_least_forty_phrases_of_both_kinds():
    assert len(ENDINGS) + len(QUESTIONS) >= 40
    assert len(ENDINGS) >= 20 and len(QUESTIONS) >= 20


@pytest.mark.parametrize("said", ENDINGS)
def test_an_ending_is_a_stop(said):
    assert is_stop(said), said


@pytest.mark.parametrize("said", QUESTIONS)
def test_a_question_with_the_words_is_not(said):
    assert not is_stop(said), said


def test_the_list_is_the_one_in_templates_yaml():
    # The admin's templates editor edits exactly this entry.
    text = yaml.safe_load(stop_phrases.BUNDLED_TEMPLATES.read_text())["stop_phrases"]
    assert text == stop_phrases.bundled_text()
    assert StopPhrases(text).count >= 15


@pytest.mark.parametrize("text, expected", [
    ("I'm DONE!", "i am done"),
    ("That\u2019s  enough\u2026", "that is enough"),
    ("good-bye", "good bye"),
    ("Goodbye", "good bye"),
    ("wanna stop", "want to stop"),
])
def test_normalise(text, expected):
    assert normalise(text) == expected


def test_a_configured_list_replaces_the_bundled_one():
    custom = "(halt|cease) [the] (chatter|talk)\n# a comment\n\nover and out"
    assert is_stop("halt the chatter, thanks", custom)
    assert is_stop("over and out", custom)
    assert not is_stop("stop", custom)  # not in this list any more


def test_optional_and_alternative_parts_nest():
    phrases = StopPhrases("let us [(stop|end) [it]] (here|now)")
    assert phrases.matches("let's stop it here")
    assert phrases.matches("let's now")
    assert not phrases.matches("let's it here")


@pytest.mark.parametrize("line", ["(stop|end", "stop]", "[stop", "()", "stop | end", "[stop]",
                                  "(stop|)", "!!!"])
def test_a_broken_line_is_refused_with_its_number(line):
    with pytest.raises(PatternError, match="line 2"):
        StopPhrases(f"stop\n{line}")


def test_a_broken_edit_keeps_the_bundled_list_and_says_why(caplog):
    with caplog.at_level(logging.ERROR, logger="skills.conversation"):
        assert is_stop("I'm done", "(oops")
    assert "stop phrases not usable" in caplog.text and "line 1" in caplog.text


def test_an_empty_list_means_the_bundled_one():
    assert is_stop("that's enough", "")
    assert is_stop("that's enough", "# nothing but a comment\n")


def test_a_compiled_list_is_reused():
    text = "farewell then"
    assert stop_phrases.compiled(text) is stop_phrases.compiled(text)
