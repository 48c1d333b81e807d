"""The model's answers made speakable: no markdown or emoji read aloud, SSML-safe, cut short."""

from __future__ import annotations

import re

import pytest

from skills.conversation import speech

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("answer, spoken", [
    ("**Rayleigh scattering!** Blue light scatters _more_.", "Rayleigh scattering! Blue light "
     "scatters more."),
    ("Three tips:\n\n1. drink water\n2. Sleep\n3) walk daily\n\nGood luck",
     "Three tips: Drink water. Sleep. Walk daily. Good luck"),
    ("- apples\n* pears\n+ plums", "Apples. Pears. Plums."),
    ("## Summary\nIt works.", "Summary. It works."),
    ("Run this:\n```python\nprint('hi')\n```\nThen relax.", "Run this: Then relax."),
    ("Use `ls -l` to list files.", "Use ls -l to list files."),
    ("See [the docs](https://example.org/docs) or https://example.org.", "See the docs or."),
    ("I love it! 😍🎉 Great job 👍🏽", "I love it! Great job"),
    ("| Planet | Moons |\n|---|---|\n| Mars | 2 |", "Planet, Moons. Mars, 2."),
    ("It's 25°C & 40% humid.", "It's 25 degrees Celsius and 40 percent humid."),
    ("> quoted wisdom\n---\nAnd more.", "quoted wisdom And more."),
    ("Assistant: Hello there.", "Hello there."),
    ("Sure, here you go.\nUser: and what about", "Sure, here you go."),
    ("snake_case_name stays readable", "snake case name stays readable"),
])
def test_clean(answer, spoken):
    assert speech.clean(answer) == spoken


def test_nothing_left_is_empty_speech():
    spoken = speech.prepare("🎉👍\n```\ncode only\n```")
    assert spoken.text == "" and spoken.ssml == ""


def test_ssml_is_escaped():
    spoken = speech.prepare('Use <b> & "quotes" or \'single\' ones.')
    assert spoken.ssml == ("<speak>Use &lt;b&gt; and &quot;quotes&quot; or &apos;single&apos; "
                           "ones.</speak>")


def test_a_long_answer_is_cut_at_a_sentence_boundary():
    answer = " ".join(f"Sentence number {n} is here." for n in range(100))
    spoken = speech.prepare(answer, limit=600)
    assert spoken.cut
    assert len(spoken.text) <= 600
    assert spoken.text.endswith("is here.")
    assert len(spoken.card) > len(spoken.text)  # the card keeps more to read


def test_one_long_sentence_is_cut_at_a_clause_or_word():
    clauses = speech.cut("word, " * 200, 100)[0]
    assert clauses.endswith(".") and len(clauses) <= 100
    words = speech.cut("word " * 200, 100)[0]
    assert words.endswith("…") and len(words) <= 101
    assert " wor…" not in words  # never in the middle of a word


def test_short_answers_are_not_cut():
    assert speech.cut("Fine.", 600) == ("Fine.", False)


def test_alexa_limit_is_never_exceeded():
    answer = "A & B. " * 3000
    spoken = speech.prepare(answer, limit=100000)
    assert len(spoken.ssml) <= speech.ALEXA_SPEECH_LIMIT
    assert spoken.ssml.startswith("<speak>") and spoken.ssml.endswith("</speak>")
    assert not re.search(r"&(?!amp;|lt;|gt;|quot;|apos;)", spoken.ssml)


def test_the_card_holds_the_question_and_the_answer():
    card = speech.card_content("why is the sky blue", "Rayleigh scattering.")
    assert card == "You: why is the sky blue\n\nAlexa: Rayleigh scattering."
