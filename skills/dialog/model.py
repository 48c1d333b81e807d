"""A skill's interaction model as the dialog needs it: intents, slot types, dialog model, prompts.

Read from the ASK CLI layout (``skill-package/interactionModels/custom/<locale>.json``), the
older ``models/<locale>.json``, or a Flask-Ask era ``speech_assets/`` folder (IntentSchema.json,
SampleUtterances.txt and one file per custom slot type), so legacy skills talk too.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

SLOT_REF_RE = re.compile(r"{([^{}]*)}")


class ModelError(Exception):
    """The interaction model is missing or unusable; the message says which file and why."""


@dataclass
class Slot:
    name: str
    type: str
    samples: list[str] = field(default_factory=list)  # what the user says to fill it alone


@dataclass
class Intent:
    name: str
    slots: dict[str, Slot]
    samples: list[str]


@dataclass
class SlotValue:
    name: str
    id: str | None
    synonyms: list[str]


@dataclass
class DialogSlot:
    name: str
    elicitation_required: bool = False
    confirmation_required: bool = False
    prompts: dict[str, str] = field(default_factory=dict)  # elicitation/confirmation → prompt id


@dataclass
class DialogIntent:
    name: str
    delegation: str  # ALWAYS (Alexa runs the dialog) or SKILL_RESPONSE (the skill delegates)
    confirmation_required: bool
    prompts: dict[str, str]
    slots: dict[str, DialogSlot]


@dataclass
class InteractionModel:
    invocation_name: str
    intents: dict[str, Intent]
    types: dict[str, list[SlotValue]]
    dialog: dict[str, DialogIntent] = field(default_factory=dict)
    prompts: dict[str, list[str]] = field(default_factory=dict)  # id → variations (text/SSML)
    source: str = ""

    @classmethod
    def from_text(cls, text: str, source: str = "") -> InteractionModel:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ModelError(f"{source or 'the interaction model'} is not JSON: {exc}") from None
        except RecursionError:
            raise ModelError(f"{source or 'the interaction model'} is nested too deeply") from None
        return cls.from_dict(data, source)

    @classmethod
    def from_dict(cls, data: dict, source: str = "") -> InteractionModel:
        where = source or "the interaction model"
        root = data.get("interactionModel") if isinstance(data, dict) else None
        language = (root or {}).get("languageModel")
        if not isinstance(language, dict):
            raise ModelError(f"{where} has no interactionModel.languageModel")
        intents = {}
        for raw in language.get("intents") or []:
            if isinstance(raw, dict) and isinstance(raw.get("name"), str):
                slots = {s["name"]: Slot(s["name"], str(s.get("type", "")),
                                         [str(x) for x in s.get("samples") or []])
                         for s in raw.get("slots") or [] if isinstance(s, dict) and s.get("name")}
                intents[raw["name"]] = Intent(raw["name"], slots,
                                              [str(x) for x in raw.get("samples") or []])
        types = {}
        for raw in language.get("types") or []:
            if isinstance(raw, dict) and raw.get("name"):
                types[raw["name"]] = [_slot_value(v) for v in raw.get("values") or []
                                      if isinstance(v, dict)]
        model = cls(str(language.get("invocationName") or "").lower(), intents, types,
                    source=source)
        model._read_dialog(root)
        return model

    def _read_dialog(self, root: dict) -> None:
        dialog = root.get("dialog") or {}
        strategy = dialog.get("delegationStrategy") or "ALWAYS"
        for raw in dialog.get("intents") or []:
            if not isinstance(raw, dict) or raw.get("name") not in self.intents:
                continue
            slots = {s["name"]: DialogSlot(s["name"], bool(s.get("elicitationRequired")),
                                           bool(s.get("confirmationRequired")),
                                           dict(s.get("prompts") or {}))
                     for s in raw.get("slots") or [] if isinstance(s, dict) and s.get("name")}
            self.dialog[raw["name"]] = DialogIntent(
                raw["name"], raw.get("delegationStrategy") or strategy,
                bool(raw.get("confirmationRequired")), dict(raw.get("prompts") or {}), slots)
        for raw in root.get("prompts") or []:
            if isinstance(raw, dict) and raw.get("id"):
                self.prompts[raw["id"]] = [str(v.get("value", "")) for v in
                                           raw.get("variations") or [] if isinstance(v, dict)]

    def has(self, intent: str) -> bool:
        return intent in self.intents


def _slot_value(raw: dict) -> SlotValue:
    name = raw.get("name") or {}
    return SlotValue(str(name.get("value", "")), raw.get("id"),
                     [str(s) for s in name.get("synonyms") or []])


# Finding a skill's model ------------------------------------------------------------------

def model_paths(skill: str | os.PathLike, locale: str) -> list[Path]:
    """Where a skill directory (or a module's folder) may keep its model, in the order tried."""
    base = Path(skill)
    if base.is_file():
        base = base.parent
    return [base / "skill-package" / "interactionModels" / "custom" / f"{locale}.json",
            base / "models" / f"{locale}.json",
            base / "speech_assets" / "IntentSchema.json"]


def load_model(skill: str | os.PathLike, locale: str = "en-US") -> InteractionModel:
    """The interaction model of the skill at ``skill`` (a directory, a module or a model file)."""
    path = Path(skill)
    if path.is_file() and path.suffix == ".json":
        return InteractionModel.from_text(path.read_text(), str(path))
    for candidate in model_paths(path, locale):
        if candidate.is_file():
            if candidate.name == "IntentSchema.json":
                return legacy_model(candidate.parent)
            return InteractionModel.from_text(candidate.read_text(), str(candidate))
    tried = ", ".join(str(p) for p in model_paths(path, locale))
    raise ModelError(f"no {locale} interaction model for {skill} (looked for {tried})")


def legacy_model(folder: Path) -> InteractionModel:
    """A Flask-Ask era ``speech_assets`` folder turned into a language model.

    IntentSchema.json lists intents and slots, SampleUtterances.txt has lines
    ``IntentName words {slot}``, custom slot types are files named after the type (one value a
    line) in ``customSlotTypes/`` or beside the schema. ``{example|Slot}`` is the old
    AMAZON.LITERAL form; the example words are dropped.
    """
    schema = json.loads((folder / "IntentSchema.json").read_text())
    intents = [{"name": i["intent"], "slots": list(i.get("slots") or []), "samples": []}
               for i in schema.get("intents") or [] if isinstance(i, dict) and i.get("intent")]
    by_name = {i["name"]: i for i in intents}
    utterances = folder / "SampleUtterances.txt"
    if utterances.is_file():
        for line in utterances.read_text().splitlines():
            name, _, sample = line.strip().partition(" ")
            if name in by_name and sample.strip():
                sample = re.sub(r"{[^{}|]*\|([^{}]*)}", r"{\1}", sample.strip())
                by_name[name]["samples"].append(sample)
    types = []
    wanted = {s.get("type") for i in intents for s in i["slots"]}
    for directory in (folder / "customSlotTypes", folder):
        for type_name in sorted(t for t in wanted if t and not t.startswith("AMAZON.")):
            path = directory / type_name
            if path.is_file() and all(t["name"] != type_name for t in types):
                values = [v.strip() for v in path.read_text().splitlines() if v.strip()]
                types.append({"name": type_name,
                              "values": [{"name": {"value": v}} for v in values]})
    data = {"interactionModel": {"languageModel": {
        "invocationName": folder.parent.name.replace("_", " ").lower(),
        "intents": intents, "types": types}}}
    return InteractionModel.from_dict(data, str(folder))
