"""A test client that talks to a skill the way Alexa does: signed requests, one session.

It drives a Flask app in-process (``app.test_client()``) or a running skill over HTTP, signs
every body with a :class:`TestPKI`, and carries the session across turns: the attributes the
skill returned go back with the next request, and a new session starts after one ended.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from . import builders
from .certs import CERT_URL, TestPKI


@dataclass
class Reply:
    """What the skill answered, with the parts tests ask about most."""

    status: int
    body: bytes
    json: dict | None = field(default=None)

    @property
    def response(self) -> dict:
        return (self.json or {}).get("response") or {}

    @property
    def speech(self) -> str | None:
        return _speech_text(self.response.get("outputSpeech"))

    @property
    def reprompt(self) -> str | None:
        return _speech_text((self.response.get("reprompt") or {}).get("outputSpeech"))

    @property
    def ends_session(self) -> bool | None:
        return self.response.get("shouldEndSession")

    @property
    def attributes(self) -> dict:
        return (self.json or {}).get("sessionAttributes") or {}

    @property
    def card(self) -> dict | None:
        return self.response.get("card")

    @property
    def directives(self) -> list[dict]:
        return self.response.get("directives") or []


def _speech_text(speech: dict | None) -> str | None:
    if not speech:
        return None
    if speech.get("type") == "SSML":
        return re.sub(r"<[^>]+>", "", speech.get("ssml", "")).strip()
    return speech.get("text")


class SkillClient:
    """Send Alexa requests to ``target``: a Flask app, or the base URL of a running skill."""

    def __init__(self, target: Any, pki: TestPKI, *, path: str = "/",
                 application_id: str = builders.APPLICATION_ID, cert_url: str = CERT_URL,
                 timeout: float = 10.0):
        self.target = target
        self.pki = pki
        self.path = path
        self.application_id = application_id
        self.cert_url = cert_url
        self.timeout = timeout
        self.session_id: str | None = None
        self.attributes: dict = {}
        self.user_id = f"amzn1.ask.account.{uuid.uuid4().hex}"

    # One call per request type -----------------------------------------------------------

    def launch(self, **fields) -> Reply:
        return self.send(builders.launch_request(**fields))

    def intent(self, name: str, slots: dict | None = None, **fields) -> Reply:
        return self.send(builders.intent_request(name, slots, **fields))

    def end_session(self, reason: str = "USER_INITIATED", error: dict | None = None) -> Reply:
        reply = self.send(builders.session_ended_request(reason, error))
        self.session_id = None
        return reply

    # The transport -----------------------------------------------------------------------

    def envelope(self, request: dict, **options) -> dict:
        """Wrap ``request`` in the envelope of this client's session."""
        new = self.session_id is None
        if new:
            self.session_id = f"amzn1.echo-api.session.{uuid.uuid4()}"
            self.attributes = {}
        options.setdefault("application_id", self.application_id)
        options.setdefault("user_id", self.user_id)
        return builders.envelope(request, session_id=self.session_id, new_session=new,
                                 attributes=dict(self.attributes), **options)

    def send(self, request: dict, **options) -> Reply:
        body = json.dumps(self.envelope(request, **options)).encode()
        reply = self.post(body, self.pki.sign(body, self.cert_url))
        if reply.status == 200 and reply.json is not None:
            self.attributes = reply.attributes
            if reply.ends_session or request.get("type") == "SessionEndedRequest":
                self.session_id = None
        return reply

    def post(self, body: bytes, headers: dict[str, str],
             content_type: str = "application/json") -> Reply:
        """POST raw bytes with the given headers; for requests built by hand (bad input)."""
        headers = {"Content-Type": content_type, **headers}
        if isinstance(self.target, str):
            import requests

            answer = requests.post(self.target.rstrip("/") + self.path, data=body,
                                   headers=headers, timeout=self.timeout)
            status, raw = answer.status_code, answer.content
        else:
            with self.target.test_client() as http:
                answer = http.post(self.path, data=body, headers=headers)
                status, raw = answer.status_code, answer.get_data()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return Reply(status, raw, parsed if isinstance(parsed, dict) else None)
