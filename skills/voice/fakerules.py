"""The fake AVS's rules and its voice: what it checks in an event as AVS does, the
``System.Exception`` it answers with, and what Alexa says back (the dialog engine, espeak-ng)."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path

DONT_KNOW = "Sorry, I don't know that."
CODES = {400: "INVALID_REQUEST_EXCEPTION", 403: "UNAUTHORIZED_REQUEST_EXCEPTION",
         415: "UNSUPPORTED_MEDIA_TYPE", 429: "THROTTLING_EXCEPTION",
         500: "INTERNAL_SERVICE_EXCEPTION", 503: "N/A"}
# Initiator type → the ASR profiles it goes with (the AVS Device SDK's pairs); an answer to
# ExpectSpeech keeps whatever profile the dialog started with.
INITIATORS = {"PRESS_AND_HOLD": {"CLOSE_TALK"}, "TAP": {"NEAR_FIELD"},
              "WAKEWORD": {"FAR_FIELD"},
              "EXPECT_SPEECH": {"CLOSE_TALK", "NEAR_FIELD", "FAR_FIELD"}}
CAPTIONS_FROM = (1, 3)  # SpeechSynthesizer's first version whose Speak carries captions
# InteractionModel's first version whose voice requests end with RequestProcessingCompleted.
COMPLETES_FROM = (1, 2)
# One MPEG-1 layer III frame, 32 kbit/s, 44.1 kHz, mono, no CRC: header, then silence.
SILENT_FRAME = bytes([0xFF, 0xFB, 0x10, 0xC0]) + bytes(100)


class Reject(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description


def exception_body(status: int, description: str, code: str | None = None) -> bytes:
    return json.dumps({"header": {"namespace": "System", "name": "Exception",
                                  "messageId": str(uuid.uuid4())},
                       "payload": {"code": code or CODES.get(status, "N/A"),
                                   "description": description}}).encode()


def check_initiator(payload: dict) -> dict:
    """The Recognize initiator, or Reject: a type with its ``payload`` object, on its profile."""
    initiator = payload.get("initiator")
    kind = initiator.get("type") if isinstance(initiator, dict) else None
    if kind not in INITIATORS:
        raise Reject(400, f"Recognize initiator {initiator!r} has no known type")
    if not isinstance(initiator.get("payload"), dict):
        raise Reject(400, f"Recognize initiator {kind} without a payload object")
    if payload.get("profile") not in INITIATORS[kind]:
        raise Reject(400, f"Recognize initiator {kind} does not go with the profile "
                          f"{payload.get('profile')}")
    if kind == "EXPECT_SPEECH" and not initiator["payload"].get("token"):
        raise Reject(400, "Recognize initiator EXPECT_SPEECH without ExpectSpeech's token")
    return initiator


def speech_state(metadata: dict) -> str:
    """The token SpeechSynthesizer.SpeechState names in an event's context ("" without one)."""
    for entry in metadata.get("context") or []:
        header = entry.get("header") or {} if isinstance(entry, dict) else {}
        if (header.get("namespace"), header.get("name")) == ("SpeechSynthesizer", "SpeechState"):
            return str((entry.get("payload") or {}).get("token") or "")
    return ""


def check_report(event: dict, serial: str, token: str) -> dict[str, str]:
    """An AddOrUpdateReport's declared interfaces {name: version}, or Reject."""
    header, payload = event.get("header") or {}, event.get("payload") or {}
    if header.get("payloadVersion") != "3" or not header.get("eventCorrelationToken"):
        raise Reject(400, "AddOrUpdateReport needs payloadVersion 3 and an "
                          "eventCorrelationToken")
    scope = payload.get("scope") or {}
    if scope.get("type") != "BearerToken" or scope.get("token") != token:
        raise Reject(400, "AddOrUpdateReport's scope must be the request's BearerToken")
    endpoints = payload.get("endpoints")
    try:
        endpoint = endpoints[0]
        registration = endpoint["registration"]
        declared = {c["interface"]: c["version"] for c in endpoint["capabilities"]
                    if c["type"] == "AlexaInterface"}
        if not (endpoint["endpointId"] and registration["productId"]):
            raise KeyError("endpointId")
    except (TypeError, KeyError, IndexError) as exc:
        raise Reject(400, f"AddOrUpdateReport without a complete endpoint: {exc}") from None
    if registration.get("deviceSerialNumber") != serial:
        raise Reject(400, f"registration.deviceSerialNumber "
                          f"{registration.get('deviceSerialNumber')!r} is not this device")
    return declared


def declared_at_least(declared: dict[str, str], interface: str,
                      version: tuple[int, ...]) -> bool:
    """Whether the device declared ``interface`` at ``version`` or later."""
    try:
        have = tuple(int(n) for n in declared.get(interface, "").split("."))
    except ValueError:
        return False
    return have >= version


class SkillVoice:
    """What Alexa does with the words it heard: open the skill, or go on with its session."""

    def __init__(self, skill):
        from skills.dialog.session import Dialog

        if isinstance(skill, Dialog):
            self.dialog = skill
        elif isinstance(skill, str) and skill.startswith(("http://", "https://")):
            raise ValueError("for a running skill pass Dialog.for_url(url, model)")
        else:
            self.dialog = Dialog.for_skill(skill)
        self._lock = threading.Lock()

    def answer(self, text: str, continuing: bool) -> tuple[str, bool]:
        """(what Alexa says, whether it then listens for an answer)."""
        from skills.dialog.session import parse_invocation

        with self._lock:
            dialog = self.dialog
            if not continuing and parse_invocation(text, dialog.model.invocation_name) is None:
                return DONT_KNOW, False  # Alexa does not know words outside a skill's session
            turn = dialog.say(text)
            if turn.error and not turn.speech:
                return "There was a problem with the requested skill's response", False
            return turn.speech or "", turn.expects_answer


_MP3_LOCK = threading.Lock()


def speech_mp3(text: str) -> bytes:
    """``text`` spoken as MP3: espeak-ng + lame when installed, else silent valid frames.

    Made once per text: ten answers at once must not run ten encoders at once."""
    with _MP3_LOCK:
        return _speech_mp3(text)


@functools.lru_cache(maxsize=256)
def _speech_mp3(text: str) -> bytes:
    if not (shutil.which("espeak-ng") and shutil.which("lame")):
        return SILENT_FRAME * 10
    with tempfile.TemporaryDirectory(prefix="fake-avs-") as tmp:
        wav, mp3 = Path(tmp) / "a.wav", Path(tmp) / "a.mp3"
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), "--stdin"],
                       input=text.encode(), capture_output=True, check=True, timeout=60)
        subprocess.run(["lame", "--quiet", "-b", "32", str(wav), str(mp3)],
                       capture_output=True, check=True, timeout=60)
        return mp3.read_bytes()
