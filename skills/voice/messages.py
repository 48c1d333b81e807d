"""AVS messages: the events the client sends, the directives it gets back, and an ask's result."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

RECOGNIZE_FORMAT = "AUDIO_L16_RATE_16000_CHANNELS_1"
PROFILE = "CLOSE_TALK"


def _id() -> str:
    return str(uuid.uuid4())


def event(namespace: str, name: str, payload: dict | None = None, *,
          dialog_request_id: str | None = None, context: list | None = None) -> dict:
    header = {"namespace": namespace, "name": name, "messageId": _id()}
    if dialog_request_id:
        header["dialogRequestId"] = dialog_request_id
    message = {"event": {"header": header, "payload": payload or {}}}
    if context is not None:
        message["context"] = context
    return message


# What the device declares (Alexa.Discovery): once a device reports its capabilities, Alexa
# assumes no others, so everything the client uses is named. SpeechSynthesizer 1.3 is the
# version whose Speak directives carry captions; InteractionModel 1.2 makes Alexa end each
# voice request with RequestProcessingCompleted; Alexa 3 is the interface of EventProcessed,
# which confirms this very report; Alexa.ApiGateway and InteractionModel 1.2 are also
# Alexa.Discovery's dependencies.
CAPABILITIES = (("SpeechRecognizer", "2.3"), ("SpeechSynthesizer", "1.3"), ("Speaker", "1.0"),
                ("System", "1.0"), ("Alexa", "3"), ("Alexa.ApiGateway", "1.0"),
                ("InteractionModel", "1.2"))
WAKEWORD = "ALEXA"
# The SDK's pairs: PRESS_AND_HOLD with CLOSE_TALK, TAP with NEAR_FIELD, WAKEWORD with FAR_FIELD.
INITIATOR = {"type": "PRESS_AND_HOLD", "payload": {}}


def endpoint_config(client_id: str, product_id: str, serial_number: str) -> dict:
    """This device as Alexa.Discovery describes it: its identity and the interfaces it
    implements (what a report declares, without the report's tokens)."""
    capabilities = []
    for interface, version in CAPABILITIES:
        capability = {"type": "AlexaInterface", "interface": interface, "version": version}
        if interface == "SpeechRecognizer":
            capability["configurations"] = {
                "wakeWords": [{"scopes": ["DEFAULT"], "values": [[WAKEWORD]]}]}
        capabilities.append(capability)
    return {
        "endpointId": f"{client_id}::{product_id}::{serial_number}",
        "registration": {"productId": product_id, "deviceSerialNumber": serial_number},
        "manufacturerName": "Alexa skills appliance",
        "description": "Asks Alexa from code (skills.voice)",
        "friendlyName": "Alexa skills appliance",
        "displayCategories": ["ALEXA_VOICE_ENABLED"],
        "capabilities": capabilities,
    }


def discovery_report(client_id: str, product_id: str, serial_number: str,
                     access_token: str) -> dict:
    """``Alexa.Discovery.AddOrUpdateReport``: this device and the interfaces it implements.
    Alexa confirms it with an ``Alexa.EventProcessed`` naming its eventCorrelationToken."""
    endpoint = endpoint_config(client_id, product_id, serial_number)
    message = event("Alexa.Discovery", "AddOrUpdateReport", {
        "endpoints": [endpoint], "scope": {"type": "BearerToken", "token": access_token}})
    message["event"]["header"].update(payloadVersion="3", eventCorrelationToken=_id())
    return message


def declaration(endpoint: dict, gateway: str) -> str:
    """A digest of what a report declares and to which AVS gateway: equal digests, nothing
    to declare again."""
    canonical = json.dumps({"endpoint": endpoint, "gateway": gateway.rstrip("/")},
                           sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def device_context(speech_token: str = "") -> list[dict]:
    """The state of the declared interfaces: nothing playing, the last Speak (by its token)
    finished, listening for every word. Alexa goes on with a skill's session only when
    SpeechState names the Speak that asked the question."""
    def state(namespace, name, payload):
        return {"header": {"namespace": namespace, "name": name}, "payload": payload}

    return [
        state("SpeechSynthesizer", "SpeechState",
              {"token": speech_token, "offsetInMilliseconds": 0,
               "playerActivity": "FINISHED"}),
        state("Speaker", "VolumeState", {"volume": 50, "muted": False}),
        state("SpeechRecognizer", "RecognizerState", {"wakeword": WAKEWORD}),
    ]


def synchronize_state(speech_token: str = "") -> dict:
    return event("System", "SynchronizeState", context=device_context(speech_token))


def recognize(dialog_request_id: str, initiator: dict | None = None,
              speech_token: str = "") -> dict:
    payload = {"profile": PROFILE, "format": RECOGNIZE_FORMAT,
               "initiator": initiator or dict(INITIATOR, payload={})}
    return event("SpeechRecognizer", "Recognize", payload,
                 dialog_request_id=dialog_request_id, context=device_context(speech_token))


@dataclass
class Directive:
    namespace: str
    name: str
    payload: dict
    message_id: str = ""
    dialog_request_id: str = ""
    event_correlation_token: str = ""  # Alexa.EventProcessed: the event it confirms

    @classmethod
    def from_json(cls, data: dict) -> Directive:
        body = data.get("directive") if isinstance(data, dict) else None
        if not isinstance(body, dict) or not isinstance(body.get("header"), dict):
            raise ValueError("not a directive: no directive.header")
        header = body["header"]
        payload = body.get("payload")
        return cls(str(header.get("namespace", "")), str(header.get("name", "")),
                   payload if isinstance(payload, dict) else {},
                   str(header.get("messageId", "")), str(header.get("dialogRequestId", "")),
                   str(header.get("eventCorrelationToken", "")))

    def to_json(self) -> dict:
        header = {"namespace": self.namespace, "name": self.name,
                  "messageId": self.message_id or _id()}
        if self.dialog_request_id:
            header["dialogRequestId"] = self.dialog_request_id
        if self.event_correlation_token:
            header["eventCorrelationToken"] = self.event_correlation_token
        return {"directive": {"header": header, "payload": self.payload}}

    @property
    def qualified(self) -> str:
        return f"{self.namespace}.{self.name}"


def caption_text(caption) -> str:
    """The words of a Speak caption: WebVTT without its header, cue numbers and timings."""
    if isinstance(caption, dict):
        caption = caption.get("content") or ""
    if not isinstance(caption, str):
        return ""
    words = []
    for line in caption.splitlines():
        line = line.strip()
        if (not line or line.startswith(("WEBVTT", "NOTE")) or line.isdigit()
                or "-->" in line):
            continue
        words.append(re.sub(r"<[^>]+>", "", line))
    return " ".join(words)


@dataclass
class AskResult:
    """What Alexa answered to one ask.

    An empty result (``heard_nothing``) is AVS's 204: Alexa heard nothing it could act on.
    ``expects_speech`` means Alexa is waiting for the user's answer: pass this result as
    ``dialog=`` to the next ask to answer in the same dialog.
    """

    dialog_request_id: str = ""
    directives: list[Directive] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    audio: list[Path] = field(default_factory=list)
    heard_nothing: bool = False

    @property
    def text(self) -> str:
        return " ".join(c for c in self.captions if c)

    @property
    def expect_speech(self) -> Directive | None:
        return next((d for d in self.directives
                     if d.qualified == "SpeechRecognizer.ExpectSpeech"), None)

    @property
    def expects_speech(self) -> bool:
        return self.expect_speech is not None

    @property
    def initiator(self) -> dict | None:
        """What the next Recognize must carry to answer ExpectSpeech (opaque to the client)."""
        directive = self.expect_speech
        initiator = directive.payload.get("initiator") if directive else None
        return initiator if isinstance(initiator, dict) else None
