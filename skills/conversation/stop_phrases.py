"""Does what the user said, taken as a whole, mean "let's end the conversation"?

Seed 001's skill looked for keywords and still sent "I prefer to stop the conversation" to the
model, so its session never ended. Keywords are the wrong test both ways: "how do I stop a
leaking tap" contains "stop" and is a question. Here an utterance ends the session only when
*all* of it is made of ending phrases and courtesy fillers: "okay, I'm done, thanks" and "no
thanks, bye" end it; "stop talking about dogs" (a change of subject) and "what's enough sleep"
go to the model.

The phrases are configurable: one per line (the ``stop_phrases`` entry of the skill's
templates.yaml, edited in the admin), with a small pattern syntax:

    (stop|quit|end)          one of the alternatives
    [please]                 optional words
    # a comment              ignored, as are blank lines

Text and patterns are normalised the same way first: lower case, curly quotes made straight,
punctuation dropped, contractions expanded ("I'm" → "i am", "wanna" → "want to"), so a
phrase is written once however Alexa transcribes it.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

import yaml

log = logging.getLogger("skills.conversation")

# Longer utterances are questions or stories, never just a way of saying goodbye; the cap also
# bounds the regular expression's work.
MAX_WORDS = 16

# Words that may surround an ending phrase without changing what it means (each one whole:
# "thank you" is a filler, "you" alone is not).
FILLERS = (
    "ok", "okay", "alright", "all right", "right", "well", "so", "um", "uh", "oh", "ah", "hmm",
    "yeah", "yes", "yep", "no", "nope", "nah", "please", "thanks", "thank you",
    "thank you very much", "thanks a lot", "many thanks", "cheers", "alexa", "now", "then",
    "for now", "for today", "for tonight", "just", "actually", "really", "anyway", "honestly",
    "i think", "i guess",
)

_CONTRACTIONS = {
    "i'm": "i am", "im": "i am", "i've": "i have", "i'd": "i would", "i'll": "i will",
    "we're": "we are", "we'd": "we would", "we'll": "we will", "we've": "we have",
    "you're": "you are", "that's": "that is", "thats": "that is", "it's": "it is",
    "what's": "what is", "let's": "let us", "lets": "let us", "don't": "do not",
    "can't": "cannot", "won't": "will not", "wanna": "want to", "gonna": "going to",
    "gotta": "got to", "that'll": "that will", "goodbye": "good bye",
    "goodnight": "good night",
}
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_TOKEN = re.compile(r"\s*([()\[\]|]|[^\s()\[\]|]+)")


class PatternError(ValueError):
    """A stop phrase line that does not parse; the message names the line."""


def normalise(text: str) -> str:
    """Lower case words separated by single spaces, contractions expanded."""
    words = _WORD.findall(str(text).lower().translate(_QUOTES).replace("-", " "))
    return " ".join(_CONTRACTIONS.get(word, word) for word in words)


def _compile_line(line: str) -> str:
    """One pattern line as a regular expression over ``" " + normalised text``.

    Every word carries its leading space, so optional parts and alternatives join up without
    doubled or missing spaces.
    """
    tokens = _TOKEN.findall(line)
    position = 0

    def sequence(closers: str) -> str:
        nonlocal position
        parts = []
        while position < len(tokens) and tokens[position] not in closers:
            item = tokens[position]
            position += 1
            if item == "(":
                parts.append(alternatives(")"))
            elif item == "[":
                parts.append(f"(?:{alternatives(']')})?")
            elif item in ")]|":
                raise PatternError(f"unexpected {item!r}")
            else:
                words = normalise(item)
                parts.extend(" " + re.escape(word) for word in words.split())
        return "".join(parts)

    def alternatives(closer: str) -> str:
        nonlocal position
        options = [sequence("|" + closer)]
        while position < len(tokens) and tokens[position] == "|":
            position += 1
            options.append(sequence("|" + closer))
        if position >= len(tokens) or tokens[position] != closer:
            raise PatternError(f"missing {closer!r}")
        position += 1
        return "(?:" + "|".join(options) + ")"

    compiled = sequence("")
    if position != len(tokens):
        raise PatternError(f"unexpected {tokens[position]!r}")
    if re.fullmatch(compiled, ""):
        # A phrase that can be empty would make "thank you" alone (all fillers) a stop.
        raise PatternError("it can match no words at all")
    return compiled


class StopPhrases:
    """A compiled list of ending phrases; ``matches(utterance)`` is the test."""

    def __init__(self, text: str, fillers: tuple[str, ...] = FILLERS):
        phrases = []
        for number, raw in enumerate(str(text).splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            try:
                phrases.append(_compile_line(line))
            except PatternError as exc:
                raise PatternError(f"stop phrase line {number} ({line!r}): {exc}") from None
        if not phrases:
            raise PatternError("the stop phrase list is empty")
        # Longest first, so "thank you very much" is tried before "thank you".
        filler_words = sorted({normalise(f) for f in fillers} - {""}, key=len, reverse=True)
        filler = "|".join(" " + re.escape(f) for f in filler_words)
        phrase = "|".join(phrases)
        # Fillers and phrases in any order, at least one phrase: "no thanks bye", "stop please".
        self._regex = re.compile(f"(?:{filler})*(?:{phrase})(?:{filler}|{phrase})*")
        self.count = len(phrases)

    def matches(self, utterance: str) -> bool:
        said = normalise(utterance)
        if not said or said.count(" ") >= MAX_WORDS:
            return False
        return self._regex.fullmatch(" " + said) is not None


# The compiled list is kept per source text: the admin's edits are picked up on the next turn,
# and an unchanged list is never compiled twice.
_cache: dict[str, StopPhrases] = {}
_lock = threading.Lock()
BUNDLED_TEMPLATES = Path(__file__).resolve().parent / "templates.yaml"


def bundled_text() -> str:
    """The list shipped in the skill's own templates.yaml: the fallback for a broken edit."""
    with BUNDLED_TEMPLATES.open(encoding="utf-8") as handle:
        return str((yaml.safe_load(handle) or {}).get("stop_phrases") or "")


def compiled(text: str | None) -> StopPhrases:
    """The matcher for ``text``; the bundled list when ``text`` is empty or does not parse."""
    key = text or ""
    found = _cache.get(key)
    if found is not None:
        return found
    with _lock:
        found = _cache.get(key)
        if found is None:
            try:
                found = StopPhrases(key)
            except PatternError as exc:
                # Never let a typo in the admin open the way to the model: keep the shipped list.
                if key:
                    log.error("stop phrases not usable, using the bundled list: %s", exc)
                found = StopPhrases(bundled_text())
            if len(_cache) > 8:
                _cache.clear()
            _cache[key] = found
    return found


def is_stop(utterance: str, text: str | None = None) -> bool:
    """Whether ``utterance`` as a whole asks to end, by the list ``text`` (default: bundled)."""
    return compiled(text).matches(utterance)
