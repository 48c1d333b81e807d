"""Typed words → an intent and its slots, from a skill's interaction model.

This APPROXIMATES Alexa's language understanding; it is not Amazon's NLU. Alexa generalises
from the samples (other wordings, misspoken words, similar values); this matcher takes the
samples literally, with these rules:

- Words are compared lowercased, without punctuation, with common contractions expanded
  ("it's" = "it is"). A ``{slot}`` takes one or more words.
- ``AMAZON.NUMBER`` takes digits or one spoken number ("twenty one", "a hundred and five") and
  its value is the digits, as Alexa sends it; ``AMAZON.FOUR_DIGIT_NUMBER`` likewise.
- A custom slot type takes any words; when they are one of its values or synonyms the slot gets
  entity resolution as Alexa fills it (``ER_SUCCESS_MATCH`` with the value's name and id, under
  the authority ``amzn1.er-authority.echo-sdk.<skill id>.<TypeName>``), else
  ``ER_SUCCESS_NO_MATCH``. ``AMAZON.SearchQuery`` and the other built-in types are catch-all:
  they take whatever words are there, unresolved.
- A sample made only of slots takes no catch-all built-in type (Alexa refuses
  ``{query}`` without a carrier phrase), so it does not swallow every utterance. A custom type
  does fill alone with any words: the well-known catch-all of an open conversation skill.
- The built-in intents the model declares also understand their common phrases ("help",
  "stop", "cancel", "yes", "no", "go home", …); "cancel" goes to AMAZON.StopIntent when the
  model has no AMAZON.CancelIntent, as on Alexa.
- The best match wins: most literal words, then fewest slots holding unknown words (a
  number or a known value is a surer sign than any words), then fewest slots, then the intent
  and sample declared first. Nothing matching →
  AMAZON.FallbackIntent when the model declares it, else no match (None).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from skills.runtime.testing import builders

from .model import SLOT_REF_RE, InteractionModel, SlotValue
from .numbers import NUMBER_WORDS, parse_four_digits, parse_number

FALLBACK = "AMAZON.FallbackIntent"
MAX_PARSES = 64  # per sample; utterances are short, this only bounds pathological samples

# The phrases built-in intents understand without samples (a common subset of Alexa's).
BUILTIN_PHRASES: dict[str, list[str]] = {
    "AMAZON.YesIntent": ["yes", "yeah", "yep", "yup", "sure", "ok", "okay", "yes please",
                         "of course"],
    "AMAZON.NoIntent": ["no", "nope", "no thanks", "no thank you", "nah", "not really"],
    "AMAZON.HelpIntent": ["help", "help me", "what can i say", "i need help", "can you help me"],
    "AMAZON.StopIntent": ["stop", "quit", "off", "shut up", "be quiet", "stop it", "enough"],
    "AMAZON.CancelIntent": ["cancel", "never mind", "forget it", "cancel that"],
    "AMAZON.NavigateHomeIntent": ["go home", "go to home", "home", "navigate home"],
    "AMAZON.StartOverIntent": ["start over", "restart", "start again", "begin again"],
    "AMAZON.RepeatIntent": ["repeat", "say that again", "repeat that", "again", "what"],
    "AMAZON.NextIntent": ["next", "skip", "skip this", "next one"],
    "AMAZON.PreviousIntent": ["previous", "go back", "back", "previous one"],
    "AMAZON.PauseIntent": ["pause"],
    "AMAZON.ResumeIntent": ["resume", "continue", "keep going"],
    "AMAZON.MoreIntent": ["more", "tell me more", "show more"],
}

CONTRACTIONS = {
    "i'm": "i am", "it's": "it is", "let's": "let us", "that's": "that is", "what's": "what is",
    "don't": "do not", "doesn't": "does not", "can't": "can not", "cannot": "can not",
    "won't": "will not", "i'd": "i would", "i'll": "i will", "you're": "you are",
    "we're": "we are", "they're": "they are", "isn't": "is not", "there's": "there is",
    "who's": "who is", "where's": "where is", "how's": "how is", "i've": "i have",
    "wanna": "want to", "gonna": "going to",
}

_WORD_RE = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?|[^\W_]+(?:'[^\W_]+)*")
TYPED = {"AMAZON.NUMBER", "AMAZON.FOUR_DIGIT_NUMBER"}


def words(text: str) -> list[str]:
    """The words of ``text`` as the matcher compares them (lowercase, contractions expanded)."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"(?<=[^\W\d_])-(?=[^\W\d_])", " ", text)  # "twenty-one" = "twenty one"
    out: list[str] = []
    for word in _WORD_RE.findall(text):
        word = word.replace(",", "") if word[:1].isdigit() or word[:1] == "-" else word
        out.extend(CONTRACTIONS.get(word, word).split())
    return out


@dataclass
class Match:
    """What the words meant: an intent and its slots as Alexa sends them."""

    intent: str
    slots: dict[str, dict] = field(default_factory=dict)  # every slot of the intent
    sample: str | None = None  # the sample (or built-in phrase) that matched

    def values(self) -> dict[str, str | None]:
        """Slot name → the words heard (None when unfilled)."""
        return {name: body.get("value") for name, body in self.slots.items()}

    def resolved(self) -> dict[str, str | None]:
        """Slot name → the resolved value's name when entity resolution matched, else the words."""
        out = {}
        for name, body in self.slots.items():
            authorities = (body.get("resolutions") or {}).get("resolutionsPerAuthority") or [{}]
            values = authorities[0].get("values") or []
            out[name] = values[0]["value"]["name"] if values else body.get("value")
        return out

    def request(self, **fields: Any) -> dict:
        """The IntentRequest Alexa would send (``dialog_state=`` and other builder fields)."""
        return builders.intent_request(self.intent, self.slots or None, **fields)


@dataclass(frozen=True)
class _Sample:
    intent: str
    text: str
    parts: tuple[str | tuple[str], ...]  # a literal word, or (slot name,)
    literals: frozenset[str]
    order: int

    @property
    def slot_count(self) -> int:
        return len(self.parts) - len([p for p in self.parts if isinstance(p, str)])


@dataclass(frozen=True)
class Fill:
    value: str
    body: dict
    typed: bool  # a number, or one of the slot type's values
    catch_all: bool = False  # a built-in type that takes any words (AMAZON.SearchQuery…)


def slot_body(name: str, value: str, resolutions: dict | None = None) -> dict:
    """A filled slot exactly as Alexa sends it (``slotValue`` mirrors the older fields)."""
    body: dict[str, Any] = {"name": name, "value": value, "confirmationStatus": "NONE",
                            "source": "USER"}
    simple: dict[str, Any] = {"type": "Simple", "value": value}
    if resolutions is not None:
        body["resolutions"] = resolutions
        simple["resolutions"] = resolutions
    body["slotValue"] = simple
    return body


def empty_slot(name: str) -> dict:
    return {"name": name, "confirmationStatus": "NONE"}


def generated_id(name: str) -> str:
    """Alexa makes an id for a value the model gives none; ours is stable: an MD5 of the name."""
    return hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()


class Matcher:
    """Match utterances against one interaction model; build it once, match many times."""

    def __init__(self, model: InteractionModel, skill_id: str = builders.APPLICATION_ID):
        self.model = model
        self.skill_id = skill_id
        self._values = {name: self._index(values) for name, values in model.types.items()}
        self.samples = self._samples()

    @staticmethod
    def _index(values: list[SlotValue]) -> dict[tuple[str, ...], list[SlotValue]]:
        # Exact values come before synonyms, the order Alexa lists them in.
        index: dict[tuple[str, ...], list[SlotValue]] = {}
        for synonyms in (False, True):
            for value in values:
                for text in (value.synonyms if synonyms else [value.name]):
                    found = index.setdefault(tuple(words(text)), [])
                    if value not in found:
                        found.append(value)
        return index

    def _samples(self) -> list[_Sample]:
        declared = self.model.intents
        phrases = {name: list(p) for name, p in BUILTIN_PHRASES.items() if name in declared}
        if "AMAZON.CancelIntent" not in declared and "AMAZON.StopIntent" in declared:
            phrases["AMAZON.StopIntent"] += BUILTIN_PHRASES["AMAZON.CancelIntent"]
        samples = []
        for intent in declared.values():
            for text in [*intent.samples, *phrases.get(intent.name, [])]:
                parts: list[str | tuple[str]] = []
                for piece in re.split(r"({[^{}]*})", text):
                    if SLOT_REF_RE.fullmatch(piece):
                        if piece[1:-1] not in intent.slots:
                            break  # a sample naming an unknown slot can never match
                        parts.append((piece[1:-1],))
                    else:
                        parts.extend(words(piece))
                else:
                    literals = frozenset(p for p in parts if isinstance(p, str))
                    samples.append(_Sample(intent.name, text, tuple(parts), literals,
                                           len(samples)))
        return samples

    # Matching ------------------------------------------------------------------------------

    def match(self, utterance: str) -> Match | None:
        """The best intent for ``utterance``; the fallback intent or None when nothing fits."""
        said = words(utterance)
        present = set(said)
        best, best_key = None, None
        cache: dict = {}
        for sample in self.samples:
            if not sample.literals <= present:
                continue
            for fills in self._parses(sample, said, cache):
                typed = sum(f.typed for f in fills.values())
                key = (len(sample.parts) - sample.slot_count, typed - len(fills),
                       -sample.slot_count, typed, -sample.order)
                if best_key is None or key > best_key:
                    best, best_key = (sample, fills), key
        if best is not None:
            sample, fills = best
            slots = {name: fills[name].body if name in fills else empty_slot(name)
                     for name in self.model.intents[sample.intent].slots}
            return Match(sample.intent, slots, sample.text)
        if FALLBACK in self.model.intents:
            return Match(FALLBACK, {}, None)
        return None

    def _parses(self, sample: _Sample, said: list[str], cache: dict):
        """Every way the sample's slots can cover ``said`` (earlier slots longest first)."""
        slots = self.model.intents[sample.intent].slots
        strict = not sample.literals
        parts, count = sample.parts, 0
        # The fewest words the parts from i on need: one per literal word and per slot.
        need = [len(parts) - i for i in range(len(parts) + 1)]

        def walk(i: int, at: int, fills: dict[str, Fill]):
            nonlocal count
            if count >= MAX_PARSES:
                return
            if i == len(parts):
                if at == len(said):
                    count += 1
                    yield dict(fills)
                return
            part = parts[i]
            if isinstance(part, str):
                if at < len(said) and said[at] == part:
                    yield from walk(i + 1, at + 1, fills)
                return
            name = part[0]
            for end in range(len(said) - need[i + 1], at, -1):
                key = (sample.intent, name, at, end)
                if key not in cache:
                    cache[key] = self.fill(slots[name].type, name, said[at:end])
                fill = cache[key]
                if fill is None or (strict and fill.catch_all):
                    continue
                fills[name] = fill
                yield from walk(i + 1, end, fills)
                del fills[name]

        yield from walk(0, 0, {})

    def fill(self, slot_type: str, name: str, said: list[str] | tuple[str, ...]) -> Fill | None:
        """The slot ``name`` of ``slot_type`` filled with the words ``said``, or None."""
        text = " ".join(said)
        if slot_type == "AMAZON.NUMBER":
            if not set(said) <= NUMBER_WORDS and len(said) != 1:
                return None
            number = parse_number(said)
            return None if number is None else Fill(str(number), slot_body(name, str(number)),
                                                      True)
        if slot_type == "AMAZON.FOUR_DIGIT_NUMBER":
            digits = parse_four_digits(said)
            return None if digits is None else Fill(digits, slot_body(name, digits), True)
        if slot_type in self._values:
            found = self._values[slot_type].get(tuple(said), [])
            return Fill(text, slot_body(name, text, self.resolutions(slot_type, found)),
                         bool(found))
        return Fill(text, slot_body(name, text), False, catch_all=True)  # whatever was said

    def resolutions(self, slot_type: str, found: list[SlotValue]) -> dict:
        authority: dict[str, Any] = {
            "authority": f"amzn1.er-authority.echo-sdk.{self.skill_id}.{slot_type}",
            "status": {"code": "ER_SUCCESS_MATCH" if found else "ER_SUCCESS_NO_MATCH"},
        }
        if found:
            authority["values"] = [{"value": {"name": v.name, "id": v.id or generated_id(v.name)}}
                                   for v in found]
        return {"resolutionsPerAuthority": [authority]}

    # Dialog turns -------------------------------------------------------------------------

    def answer_slot(self, intent: str, slot: str, utterance: str) -> Fill | None:
        """``utterance`` as the answer to "which <slot>?" of ``intent``, or None.

        The slot's own samples ("I'm going to {city}") come first and count as sure answers
        (``typed``); then the bare words as the slot's value.
        """
        known = self.model.intents.get(intent)
        definition = known.slots.get(slot) if known else None
        if definition is None:
            return None  # the skill asked for a slot its model does not have
        said = words(utterance)
        for text in definition.samples:
            parts = re.split(r"({[^{}]*})", text)
            if sum(1 for p in parts if SLOT_REF_RE.fullmatch(p)) != 1:
                continue
            before, after = (words(p) for p in (parts[0], "".join(parts[2:])))
            if (before or after) and said[:len(before)] == before and (
                    not after or said[-len(after):] == after):
                inner = said[len(before):len(said) - len(after)]
                found = self.fill(definition.type, slot, inner) if inner else None
                if found is not None:
                    return Fill(found.value, found.body, True)  # a carrier phrase is a sure sign
        return self.fill(definition.type, slot, said) if said else None

    def is_yes_or_no(self, utterance: str) -> str | None:
        """"yes"/"no" when the words are one of the yes or no phrases (for confirmations)."""
        said = " ".join(words(utterance))
        for answer, intent in (("yes", "AMAZON.YesIntent"), ("no", "AMAZON.NoIntent")):
            samples = self.model.intents.get(intent)
            phrases = [*BUILTIN_PHRASES[intent], *(samples.samples if samples else [])]
            if said in {" ".join(words(p)) for p in phrases}:
                return answer
        return None
