"""Response builders with Flask-Ask's names: ``statement``, ``question``, cards, dialog, audio.

Each builder holds the ``response`` object of Alexa's response format; ``render_response`` wraps
it in the envelope with the session's attributes, so what a handler set in
``session.attributes`` comes back to it on the next turn.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import Response

from .state import current_state

SPEECH_TYPES = ("PlainText", "SSML")


def _output_speech(speech: str) -> dict[str, str]:
    text = "" if speech is None else str(speech)
    if text.lstrip().startswith("<speak>"):
        return {"type": "SSML", "ssml": text.strip()}
    return {"type": "PlainText", "text": text}


def _image(small_image_url: str | None, large_image_url: str | None) -> dict[str, str]:
    image = {}
    if small_image_url:
        image["smallImageUrl"] = small_image_url
    if large_image_url:
        image["largeImageUrl"] = large_image_url
    return image


class _Response:
    """Base of every builder; methods chain, as in Flask-Ask."""

    _should_end_session: bool | None = None

    def __init__(self, speech: str | None = ""):
        self._response: dict[str, Any] = {}
        if speech:
            self._response["outputSpeech"] = _output_speech(speech)

    # Cards -------------------------------------------------------------------------------

    def simple_card(self, title: str | None = None, content: str | None = None):
        self._response["card"] = {"type": "Simple", "title": title or "", "content": content or ""}
        return self

    def standard_card(self, title: str | None = None, text: str = "",
                      small_image_url: str | None = None, large_image_url: str | None = None):
        card: dict[str, Any] = {"type": "Standard", "title": title or "", "text": text or ""}
        image = _image(small_image_url, large_image_url)
        if image:
            card["image"] = image
        self._response["card"] = card
        return self

    def link_account_card(self):
        self._response["card"] = {"type": "LinkAccount"}
        return self

    def consent_card(self, permissions):
        if isinstance(permissions, str):
            permissions = [permissions]
        self._response["card"] = {"type": "AskForPermissionsConsent",
                                  "permissions": list(permissions)}
        return self

    # Display (Echo Show templates) -------------------------------------------------------

    def display_render(self, template: str | None = None, title: str | None = None,
                       backButton: str = "HIDDEN", token: str | None = None,
                       background_image_url: str | None = None, image: str | None = None,
                       text: dict | None = None, hintText: str | None = None):
        directive: dict[str, Any] = {
            "type": "Display.RenderTemplate",
            "template": {"type": template or "BodyTemplate1", "backButton": backButton},
        }
        body = directive["template"]
        if title:
            body["title"] = title
        if token:
            body["token"] = token
        if background_image_url:
            body["backgroundImage"] = {"sources": [{"url": background_image_url}]}
        if image:
            body["image"] = {"sources": [{"url": image}]}
        if text:
            body["textContent"] = text
        self._directives().append(directive)
        if hintText:
            self._directives().append(
                {"type": "Hint", "hint": {"type": "PlainText", "text": hintText}}
            )
        return self

    def list_display_render(self, template: str | None = None, title: str | None = None,
                            backButton: str = "HIDDEN", token: str | None = None,
                            background_image_url: str | None = None, image: str | None = None,
                            listItems: list | None = None,
                            hintText: str | None = None):
        self.display_render(template or "ListTemplate1", title, backButton, token,
                            background_image_url, image, None, hintText)
        self._directives()[-1 if not hintText else -2]["template"]["listItems"] = listItems or []
        return self

    # Rendering ---------------------------------------------------------------------------

    def _directives(self) -> list:
        return self._response.setdefault("directives", [])

    def response_body(self) -> dict[str, Any]:
        """The ``response`` object alone."""
        body = dict(self._response)
        if self._should_end_session is not None:
            body["shouldEndSession"] = self._should_end_session
        return body

    def envelope(self) -> dict[str, Any]:
        """The whole JSON document Alexa expects back."""
        envelope: dict[str, Any] = {"version": "1.0", "response": self.response_body()}
        state = current_state()
        if state is not None and state.session is not None:
            envelope["sessionAttributes"] = dict(state.session.attributes or {})
        return envelope

    def render_response(self) -> Response:
        return Response(json.dumps(self.envelope()), mimetype="application/json")


class statement(_Response):  # Flask-Ask's public name
    """Speak and end the session."""

    _should_end_session = True


class question(_Response):
    """Speak and keep the microphone open for the answer."""

    _should_end_session = False

    def reprompt(self, reprompt: str):
        self._response["reprompt"] = {"outputSpeech": _output_speech(reprompt)}
        return self


class tell(statement):  # older alias some skills still use
    pass


# Dialog management ----------------------------------------------------------------------

class _Dialog(_Response):
    _should_end_session = False

    def __init__(self, directive: dict, speech: str | None = None,
                 updated_intent: dict | None = None):
        super().__init__(speech)
        if updated_intent:
            directive["updatedIntent"] = dict(updated_intent)
        self._response["directives"] = [directive]


class delegate(_Dialog):
    """Let Alexa ask for the next required slot (no speech allowed with Dialog.Delegate)."""

    def __init__(self, updated_intent: dict | None = None):
        super().__init__({"type": "Dialog.Delegate"}, None, updated_intent)


class elicit_slot(_Dialog):
    def __init__(self, slot: str, speech: str, updated_intent: dict | None = None):
        super().__init__({"type": "Dialog.ElicitSlot", "slotToElicit": slot}, speech,
                         updated_intent)


class confirm_slot(_Dialog):
    def __init__(self, slot: str, speech: str, updated_intent: dict | None = None):
        super().__init__({"type": "Dialog.ConfirmSlot", "slotToConfirm": slot}, speech,
                         updated_intent)


class confirm_intent(_Dialog):
    def __init__(self, speech: str, updated_intent: dict | None = None):
        super().__init__({"type": "Dialog.ConfirmIntent"}, speech, updated_intent)


# In-skill purchasing --------------------------------------------------------------------

class _Purchase(_Response):
    _should_end_session = True

    def __init__(self, name: str, product_id: str, payload: dict | None = None,
                 token: str | None = None):
        super().__init__(None)
        body = {"InSkillProduct": {"productId": product_id}, **(payload or {})}
        self._response["directives"] = [{
            "type": "Connections.SendRequest",
            "name": name,
            "payload": body,
            "token": token or str(uuid.uuid4()),
        }]


class buy(_Purchase):
    def __init__(self, productId: str, token: str | None = None):
        super().__init__("Buy", productId, token=token)


class upsell(_Purchase):
    def __init__(self, productId: str, msg: str, token: str | None = None):
        super().__init__("Upsell", productId, {"upsellMessage": msg}, token)


class refund(_Purchase):
    def __init__(self, productId: str, token: str | None = None):
        super().__init__("Cancel", productId, token=token)
