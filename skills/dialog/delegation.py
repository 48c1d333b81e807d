"""Dialog management as Alexa runs it: slots elicited and confirmed, ``dialogState`` moving on.

An intent with a dialog model (``interactionModel.dialog``) starts a dialog. With delegation
strategy SKILL_RESPONSE the skill sees every step (STARTED, IN_PROGRESS) and answers with
Dialog.Delegate (Alexa asks the next question from the model's prompts), Dialog.ElicitSlot,
ConfirmSlot or ConfirmIntent (the skill asks). With ALWAYS, Alexa asks everything itself and the
skill only sees the intent COMPLETED. Where Alexa picks a random prompt variation, this picks
the first one, so dialogs replay identically. Slot validation rules are not applied.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from skills.runtime.testing import builders

from .model import DialogIntent, InteractionModel
from .render import ssml_to_text

ELICIT, CONFIRM_SLOT, CONFIRM_INTENT = "elicit", "confirm_slot", "confirm_intent"
DIRECTIVES = {"Dialog.ElicitSlot": ELICIT, "Dialog.ConfirmSlot": CONFIRM_SLOT,
              "Dialog.ConfirmIntent": CONFIRM_INTENT}


@dataclass
class ActiveDialog:
    """The intent being filled in, and what Alexa is waiting to hear about it."""

    intent: str
    slots: dict[str, dict]
    model: DialogIntent
    confirmation: str = "NONE"
    pending: tuple[str, str | None] | None = None  # (ELICIT|CONFIRM_SLOT|CONFIRM_INTENT, slot)
    states_sent: list[str] = field(default_factory=list)

    @property
    def auto(self) -> bool:
        return self.model.delegation != "SKILL_RESPONSE"

    def request(self, dialog_state: str) -> dict:
        self.states_sent.append(dialog_state)
        return builders.intent_request(self.intent, copy.deepcopy(self.slots) or None,
                                       dialog_state=dialog_state,
                                       confirmation_status=self.confirmation)

    def update(self, updated_intent: dict | None) -> None:
        """Take the skill's ``updatedIntent`` (slots it filled or changed) as the new state."""
        if not isinstance(updated_intent, dict):
            return
        for name, body in (updated_intent.get("slots") or {}).items():
            if isinstance(body, dict):
                self.slots[name] = {"name": name, **body}
        self.confirmation = updated_intent.get("confirmationStatus") or self.confirmation

    def answer(self, kind: str, slot: str | None, *, body: dict | None = None,
               yes: bool | None = None) -> None:
        """The user answered the pending question."""
        status = "CONFIRMED" if yes else "DENIED"
        if kind == ELICIT and slot is not None and body is not None:
            self.slots[slot] = dict(body, name=slot)
        elif kind == CONFIRM_SLOT and slot in self.slots:
            self.slots[slot]["confirmationStatus"] = status
        elif kind == CONFIRM_INTENT:
            self.confirmation = status
        self.pending = None


def next_step(active: ActiveDialog) -> tuple[str, str | None] | None:
    """What Alexa asks next when delegated to; None when the dialog is COMPLETED."""
    if active.confirmation == "DENIED":
        return None
    for name, slot in active.model.slots.items():
        body = active.slots.get(name) or {"name": name, "confirmationStatus": "NONE"}
        if body.get("confirmationStatus") == "DENIED":
            # A denied value is asked for again, as Alexa does.
            active.slots[name] = {"name": name, "confirmationStatus": "NONE"}
            body = active.slots[name]
        if slot.elicitation_required and not body.get("value"):
            return ELICIT, name
        if (slot.confirmation_required and body.get("value")
                and body.get("confirmationStatus", "NONE") == "NONE"):
            return CONFIRM_SLOT, name
    if active.model.confirmation_required and active.confirmation == "NONE":
        return CONFIRM_INTENT, None
    return None


def prompt(model: InteractionModel, active: ActiveDialog, kind: str, slot: str | None) -> str:
    """Alexa's words for the question, from the model's prompts, slot values filled in."""
    prompts = active.model.prompts if slot is None else active.model.slots[slot].prompts
    prompt_id = prompts.get("confirmation" if kind != ELICIT else "elicitation")
    variations = model.prompts.get(prompt_id or "", [])
    if not variations:
        question = "Is that right?" if kind != ELICIT else f"What is the {slot}?"
        return f"{question} (the model has no prompt for this)"
    values = {name: body.get("value", "") for name, body in active.slots.items()}
    text = re.sub(r"{([^{}]*)}", lambda m: str(values.get(m.group(1)) or ""), variations[0])
    return ssml_to_text(text) if text.lstrip().startswith("<speak>") else text


def dialog_directive(directives: list[dict]) -> dict | None:
    return next((d for d in directives if str(d.get("type", "")).startswith("Dialog.")), None)
