"""The console's forms: the editors' texts, a package upload, and one turn of the test console."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError

from skills.runtime.testing import builders

from ..catalogue import interaction, templatecheck
from ..catalogue.forms import validate_templates
from ..catalogue.models import Skill
from .package import read_package

CODE = {"class": "code", "rows": 24, "spellcheck": "false"}
LINE_CITED = re.compile(r"\bline (\d+)")


class TemplatesForm(forms.Form):
    templates = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs=CODE),
                                label="templates.yaml")

    def clean_templates(self):
        text = self.cleaned_data["templates"].replace("\r\n", "\n")
        if text.strip():
            validate_templates(text)
            # What the skill's sandbox would refuse is an error here, not a preview.
            templatecheck.check_sandboxed(text)
        return text


class InteractionModelForm(forms.Form):
    # Unwrapped, so each line of the text is one row of the line-number gutter (editor.js).
    interaction_model = forms.CharField(
        required=False, strip=False, label="en-US.json",
        widget=forms.Textarea(attrs={**CODE, "wrap": "off", "data-line-numbers": ""}))

    def cited_errors(self) -> list[dict]:
        """The model's errors, each with the line of the text it cites ("line 3 column 5",
        as the JSON parser says), or None, so the page can offer to go to that line."""
        return [{"text": str(error),
                 "line": int(m[1]) if (m := LINE_CITED.search(str(error))) else None}
                for error in self.errors.get("interaction_model", [])]

    def clean_interaction_model(self):
        text = self.cleaned_data["interaction_model"].replace("\r\n", "\n")
        if text.strip():
            errors = interaction.model_errors(text)
            if errors:
                raise ValidationError(errors, code="interaction_model")
        return text


class PackageForm(forms.Form):
    package = forms.FileField(label="skill-package zip",
                              help_text="An ASK CLI skill-package/ folder, zipped; "
                              "templates.yaml may sit beside skill-package/.")

    def clean_package(self):
        upload = self.cleaned_data["package"]
        self.cleaned_data["contents"] = read_package(upload)
        return upload


class TurnForm(forms.Form):
    """One thing said to the skill: a launch, an intent with its slots, or typed words."""

    ACTIONS = [("launch", "Launch"), ("intent", "Send intent"), ("utterance", "Say it"),
               ("end", "End session")]
    action = forms.ChoiceField(choices=ACTIONS)
    intent = forms.CharField(required=False, max_length=200)
    utterance = forms.CharField(required=False, max_length=500)

    def __init__(self, *args, skill: Skill, model_text: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.skill = skill
        self.model_text = model_text
        self.intents = interaction.intents(model_text)
        self.slot_groups = []
        for intent in self.intents:
            names = []
            for slot in intent.get("slots") or []:
                if not isinstance(slot, dict) or not slot.get("name"):
                    continue
                field = self.slot_field(intent["name"], slot["name"])
                self.fields[field] = forms.CharField(
                    required=False, max_length=200, label=slot["name"],
                    help_text=str(slot.get("type") or ""))
                names.append(field)
            self.slot_groups.append((intent["name"], names))

    @staticmethod
    def slot_field(intent: str, slot: str) -> str:
        return f"slot-{intent}-{slot}"

    def bound_slot_groups(self):
        return [(name, [self[field] for field in fields]) for name, fields in self.slot_groups]

    def clean(self):
        cleaned = super().clean()
        if not self.skill.test_console:
            raise ValidationError(
                f"The test console is off for {self.skill.slug}: the skill does not trust the "
                "console's signing CA, so it would refuse every request. Turn on its "
                "\"test console\" switch and apply to use it here.", code="console_off")
        if not self.skill.enabled:
            raise ValidationError(f"{self.skill.slug} is disabled, so Caddy does not serve it. "
                                  "Enable it and apply first.", code="disabled")
        action = cleaned.get("action")
        if action == "launch":
            cleaned["request"] = builders.launch_request()
        elif action == "end":
            cleaned["request"] = builders.session_ended_request()
        elif action == "intent":
            cleaned["request"] = self._intent_request(cleaned.get("intent") or "")
        elif action == "utterance":
            cleaned["request"] = self._utterance_request(cleaned.get("utterance") or "")
        return cleaned

    def _intent_request(self, name: str) -> dict:
        known = {intent["name"]: fields for intent, (_, fields) in
                 zip(self.intents, self.slot_groups, strict=True)}
        if not name:
            raise ValidationError("Pick an intent to send.", code="intent")
        if name not in known:
            raise ValidationError(f"The interaction model of {self.skill.slug} has no intent "
                                  f"{name!r}.", code="intent")
        slots = {}
        for field in known[name]:
            value = (self.cleaned_data.get(field) or "").strip()
            slots[field.removeprefix(f"slot-{name}-")] = value or None
        return builders.intent_request(name, slots if slots else None)

    def _utterance_request(self, said: str) -> dict:
        if not said.strip():
            raise ValidationError("Type what the user says.", code="utterance")
        # "open <name>" launches the skill; "ask <name> to <words>" sends what the words match.
        invoked = interaction.invocation(self.model_text, said)
        if invoked is not None and invoked[1] is None:
            self.cleaned_data["matched"] = "LaunchRequest"
            return builders.launch_request()
        query = invoked[1] if invoked is not None else said
        match = interaction.match_utterance(self.model_text, query)
        if match is None:
            raise ValidationError(f"Nothing in the interaction model matches {query!r}; pick "
                                  "an intent instead, or add a sample.", code="utterance")
        name, slots = match
        self.cleaned_data["matched"] = name
        return builders.intent_request(name, {key: value for key, value in slots.items()}
                                       or None)
