"""Structural validation of an interaction model (ASK CLI's ``interactionModels/custom/*.json``).

Catches what the developer console would refuse: a missing invocation name, intents without
names, slots of unknown types, samples that name slots the intent does not have.
"""

from __future__ import annotations

import functools
import json
import re

INVOCATION_RE = re.compile(r"^[a-z][a-z .']{1,49}$")
SLOT_REF_RE = re.compile(r"{([^{}]*)}")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


# Alexa's own models nest about ten levels deep. Deeper JSON is refused in words: Python's
# parser would raise RecursionError (a 500) at about a thousand, and the code walking a model
# is recursive too.
MAX_DEPTH = 64


class TooDeepError(ValueError):
    """JSON nested deeper than MAX_DEPTH (or than Python's parser goes)."""


def load_json(text: str, what: str = "The interaction model"):
    """``json.loads`` for uploaded or edited text: ValueError, in words, for anything unusable,
    including JSON nested more than MAX_DEPTH levels deep."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{what} is not JSON: {exc}") from None
    except RecursionError:
        data = None  # deeper than the parser goes
    else:
        if _depth_within(data, MAX_DEPTH):
            return data
    raise TooDeepError(f"{what} is nested more than {MAX_DEPTH} levels deep; an interaction "
                       "model needs about ten.")


def _depth_within(data, limit: int) -> bool:
    stack = [(data, 1)]  # iterative: the check itself must not recurse
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else \
            value if isinstance(value, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return False
                stack.append((child, depth + 1))
    return True


def parse_model(text: str) -> dict:
    data = load_json(text)
    if not isinstance(data, dict):
        raise ValueError("The interaction model must be a JSON object.")
    return data


def language_model(data: dict) -> dict:
    model = (data.get("interactionModel") or {}).get("languageModel")
    if not isinstance(model, dict):
        raise ValueError("interactionModel.languageModel is missing.")
    return model


def model_errors(text: str) -> list[str]:
    """Every problem found, in words; an empty list means the model is usable."""
    try:
        model = language_model(parse_model(text))
    except ValueError as exc:
        return [str(exc)]
    errors = []
    invocation = model.get("invocationName")
    if not isinstance(invocation, str) or not INVOCATION_RE.match(invocation):
        errors.append("The invocation name must be 2-50 lowercase letters, spaces, periods or "
                      "apostrophes.")
    types = model.get("types") or []
    custom_types = {t.get("name") for t in types if isinstance(t, dict)}
    for slot_type in types:
        if not isinstance(slot_type, dict) or not NAME_RE.match(str(slot_type.get("name"))):
            errors.append("Every slot type needs a name.")
        elif not slot_type.get("values"):
            errors.append(f"Slot type {slot_type['name']} has no values.")
    intents = model.get("intents")
    if not isinstance(intents, list) or not intents:
        return [*errors, "The model has no intents."]
    seen = set()
    for intent in intents:
        name = intent.get("name") if isinstance(intent, dict) else None
        if not isinstance(name, str) or not NAME_RE.match(name):
            errors.append("Every intent needs a name of letters, digits, _ and .")
            continue
        if name in seen:
            errors.append(f"Intent {name} is defined twice.")
        seen.add(name)
        slots = {}
        for slot in intent.get("slots") or []:
            slot_name = slot.get("name") if isinstance(slot, dict) else None
            slot_type = slot.get("type") if isinstance(slot, dict) else None
            if not isinstance(slot_name, str) or not NAME_RE.match(slot_name):
                errors.append(f"Intent {name} has a slot without a valid name.")
                continue
            if not isinstance(slot_type, str) or not (
                slot_type.startswith("AMAZON.") or slot_type in custom_types
            ):
                errors.append(f"Slot {name}.{slot_name} has the unknown type {slot_type!r}.")
            slots[slot_name] = slot_type
        samples = intent.get("samples") or []
        if not isinstance(samples, list):
            errors.append(f"Intent {name}: samples must be a list.")
            continue
        for sample in samples:
            if not isinstance(sample, str) or not sample.strip():
                errors.append(f"Intent {name} has an empty sample.")
                continue
            for ref in SLOT_REF_RE.findall(sample):
                if ref not in slots:
                    errors.append(f"Intent {name}: sample {sample!r} names the unknown slot "
                                  f"{{{ref}}}.")
    return errors


def intents(text: str) -> list[dict]:
    """The model's intents ([{name, slots: [{name, type}], samples}]) or [] when unusable."""
    try:
        return [i for i in language_model(parse_model(text)).get("intents") or []
                if isinstance(i, dict) and i.get("name")]
    except ValueError:
        return []


@functools.lru_cache(maxsize=16)
def _matcher(text: str):
    from skills.dialog import InteractionModel, Matcher, ModelError

    try:
        return Matcher(InteractionModel.from_text(text))
    except ModelError:
        return None


def match_utterance(text: str, utterance: str) -> tuple[str, dict[str, str]] | None:
    """The intent and slot values (the words heard) for what was typed, or None.

    The local dialog's matcher (``skills.dialog.matcher``), which approximates Alexa's NLU:
    numbers as words or digits, synonyms, catch-all slots, built-in intents' phrases, the
    fallback intent when the model has one. Unfilled slots are left out.
    """
    matcher = _matcher(text)
    match = matcher.match(utterance) if matcher is not None else None
    if match is None:
        return _catch_all(text, utterance)
    return match.intent, {name: value for name, value in match.values().items()
                          if value is not None}


def invocation(text: str, utterance: str) -> tuple[bool, str | None] | None:
    """How Alexa reads a line that names the skill ("open memory game", "ask memory game to
    start over"), as the local dialog reads it: (True, the words after the name, or None for a
    plain launch); None when the line does not invoke the skill or the model has no name."""
    from skills.dialog import parse_invocation

    try:
        name = language_model(parse_model(text)).get("invocationName")
    except ValueError:
        return None
    return parse_invocation(utterance, name) if isinstance(name, str) and name.strip() else None


def _catch_all(text: str, utterance: str) -> tuple[str, dict[str, str]] | None:
    """Without a fallback intent Alexa always picks one: a sample that is a lone slot of a
    custom type (not an enumeration) then takes the whole utterance, as the conversation
    skill's ChatIntent does."""
    said = " ".join(re.findall(r"[\w']+", utterance.lower()))
    if not said:
        return None
    for intent in intents(text):
        types = {slot.get("name"): str(slot.get("type") or "") for slot in
                 intent.get("slots") or [] if isinstance(slot, dict)}
        for sample in intent.get("samples") or []:
            lone = SLOT_REF_RE.fullmatch(str(sample).strip())
            if lone and lone.group(1) in types and not types[lone.group(1)].startswith("AMAZON."):
                return intent["name"], {lone.group(1): said}
    return None
