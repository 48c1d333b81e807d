"""A dialog with one skill, turn by turn, carrying the session the way Alexa does.

"open <invocation name>" (or launch, start, ask, tell, talk to…) sends a LaunchRequest;
"ask <invocation name> to <words>" sends the intent the words match; other lines are matched
against the interaction model (a line said before any session opened is taken as a one-shot
"ask <invocation name> to <line>"); "exit" sends SessionEndedRequest. An empty line is silence:
Alexa speaks the reprompt once, then ends the session (EXCEEDED_MAX_REPROMPTS). The session's
``new`` flag, its attributes and, for intents with a dialog model, ``dialogState`` go with every
request; a response whose ``shouldEndSession`` is not false ends the session, as on a device
without a screen. Requests are signed with a test PKI the skill is made to trust.
"""

from __future__ import annotations

import random
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask

from skills.runtime.testing import builders, trust
from skills.runtime.testing.certs import TestPKI
from skills.runtime.testing.client import Reply, SkillClient

from . import delegation
from .matcher import FALLBACK, Matcher, words
from .model import InteractionModel, load_model
from .render import speech_text

LAUNCH_VERBS = [["open"], ["launch"], ["start"], ["begin"], ["load"], ["run"], ["use"],
                ["play"], ["resume"], ["ask"], ["tell"], ["talk", "to"], ["speak", "to"]]
CONNECTORS = {"to", "for", "about", "if", "whether", "that", "and", "and to"}
SUFFIXES = {"using", "with", "from"}  # "<words> using <invocation name>"
PROBLEM = "There was a problem with the requested skill's response"


@dataclass
class Turn:
    """One thing the user said, what went to the skill and what the user heard back."""

    said: str | None
    requests: list[dict] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    speech: str | None = None  # readable (SSML rendered)
    output_speech: dict | None = None  # as the skill sent it
    reprompt: str | None = None
    card: dict | None = None
    directives: list[dict] = field(default_factory=list)
    ends_session: bool = False
    spoken_by: str = "skill"  # or "dialog model", "reprompt", "error": Alexa's own words
    error: str | None = None

    @property
    def expects_answer(self) -> bool:
        """The microphone stays open (AVS: ExpectSpeech)."""
        return not self.ends_session and self.error is None and bool(self.requests or
                                                                     self.speech)

    @property
    def request(self) -> dict | None:
        return self.requests[-1] if self.requests else None

    @property
    def reply(self) -> Reply | None:
        return self.replies[-1] if self.replies else None

    def show(self, reply: Reply) -> None:
        response = reply.response
        self.output_speech = response.get("outputSpeech")
        self.speech = speech_text(self.output_speech)
        self.reprompt = speech_text((response.get("reprompt") or {}).get("outputSpeech"))
        self.card = response.get("card")
        self.directives = list(response.get("directives") or [])
        self.spoken_by = "skill"


class _Client(SkillClient):
    """SkillClient with keep-alive and a CA bundle for an HTTPS skill URL."""

    def __init__(self, *args, ca_bundle: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.ca_bundle = ca_bundle
        self._http = None

    def post(self, body: bytes, headers: dict[str, str],
             content_type: str = "application/json") -> Reply:
        if not isinstance(self.target, str):
            return super().post(body, headers, content_type)
        if self._http is None:
            import requests

            self._http = requests.Session()
        answer = self._http.post(self.target.rstrip("/") + self.path, data=body,
                                 headers={"Content-Type": content_type, **headers},
                                 timeout=self.timeout, verify=self.ca_bundle or True)
        try:
            parsed = answer.json() if answer.content else None
        except ValueError:
            parsed = None
        return Reply(answer.status_code, answer.content,
                     parsed if isinstance(parsed, dict) else None)


_PKI: TestPKI | None = None
_PKI_LOCK = threading.Lock()
_APPS: dict[Path, Flask] = {}


def shared_pki() -> TestPKI:
    """One test PKI per process: making RSA keys takes a moment, and an app trusts one root."""
    global _PKI
    with _PKI_LOCK:
        if _PKI is None:
            _PKI = TestPKI()
        return _PKI


def trust_app(app: Flask, pki: TestPKI) -> None:
    """Make an in-process app trust ``pki`` (once; the files live as long as the app)."""
    mine = app.extensions.get("skills.dialog")
    if mine and mine[0] is pki:
        return
    directory = tempfile.TemporaryDirectory(prefix="skills-dialog-")
    trust(app, pki, directory.name)
    app.extensions["skills.dialog"] = (pki, directory)


def _skill_id(app: Flask) -> str | None:
    extension = app.extensions.get("skills.runtime")
    ids = getattr(getattr(extension, "settings", None), "application_ids", ())
    return ids[0] if ids else None


def parse_invocation(text: str, invocation: str) -> tuple[bool, str | None] | None:
    """(True, rest) when ``text`` invokes the skill: rest is None for a plain launch."""
    said, name = words(text), words(invocation)
    if said[:1] == ["alexa"]:
        said = said[1:]
    if not name:
        return None
    for verb in LAUNCH_VERBS:
        head = len(verb)
        if said[:head] == verb and said[head:head + len(name)] == name:
            rest = said[head + len(name):]
            for connector in sorted(CONNECTORS, key=len, reverse=True):
                parts = connector.split()
                if rest[:len(parts)] == parts:
                    rest = rest[len(parts):]
                    break
            return True, " ".join(rest) or None
    if len(said) > len(name) + 1 and said[-len(name):] == name and \
            said[-len(name) - 1] in SUFFIXES:
        return True, " ".join(said[:-len(name) - 1])
    return None


class Dialog:
    """Talk to one skill: ``say(text)`` returns the :class:`Turn` (what the user heard).

    ``target`` is a Flask app (run in-process, made to trust ``pki``) or the base URL of a
    running skill (which must trust ``pki``'s root: see ``skills.runtime.testing.trust_files``).
    One Dialog is one user on one device: calls are serialised by a lock.
    """

    def __init__(self, target: Flask | str, model: InteractionModel, *,
                 pki: TestPKI | None = None, locale: str = "en-US",
                 application_id: str | None = None, ca_bundle: str | None = None,
                 seed: int | None = None):
        self.model = model
        self.locale = locale
        self.pki = pki or shared_pki()
        if isinstance(target, Flask):
            trust_app(target, self.pki)
            application_id = application_id or _skill_id(target)
        self.application_id = application_id or builders.APPLICATION_ID
        self.matcher = Matcher(model, self.application_id)
        self.client = _Client(target, self.pki, application_id=self.application_id,
                              ca_bundle=ca_bundle)
        self.active: delegation.ActiveDialog | None = None
        self.seed = seed
        if seed is not None:
            random.seed(seed)  # a skill using `random` answers the same on every replay
        self._reprompt: str | None = None
        self._silences = 0
        self._lock = threading.Lock()

    @classmethod
    def for_skill(cls, skill: str | Path | Flask, *, model: InteractionModel | str | None = None,
                  locale: str = "en-US", **options: Any) -> Dialog:
        """A skill directory or legacy module run in-process (or an already loaded app)."""
        if isinstance(skill, Flask):
            app = skill
            where = model if model is not None else app.root_path
        else:
            from skills.loader import load_app

            path = Path(skill).resolve()
            if path not in _APPS:
                _APPS[path] = load_app(path)
            app, where = _APPS[path], model if model is not None else path
        if not isinstance(where, InteractionModel):
            where = load_model(where, locale)
        return cls(app, where, locale=locale, **options)

    @classmethod
    def for_url(cls, url: str, model: InteractionModel | str | Path, *, locale: str = "en-US",
                **options: Any) -> Dialog:
        """A skill already running at ``url``; ``model`` is its model or its directory."""
        if not isinstance(model, InteractionModel):
            model = load_model(model, locale)
        return cls(url, model, locale=locale, **options)

    @property
    def in_session(self) -> bool:
        # Alexa's session opens before the skill hears of it when Alexa runs the dialog alone.
        return self.client.session_id is not None or self.active is not None

    # Turns --------------------------------------------------------------------------------

    def say(self, text: str) -> Turn:
        """What the user says; the answer as the user hears it."""
        with self._lock:
            return self._say(text)

    def silence(self) -> Turn:
        """The user says nothing: the reprompt once, then the session ends."""
        with self._lock:
            return self._silence()

    def end(self, reason: str = "USER_INITIATED") -> Turn | None:
        """Leave the skill ("exit"): SessionEndedRequest, or None when no session is open."""
        with self._lock:
            return self._end(Turn("exit"), reason)

    def _say(self, text: str) -> Turn:
        said = words(text)
        if not said:
            return self._silence()
        if said in (["exit"], ["alexa", "exit"]):
            return self._end(Turn(text)) or Turn(text, error="No session is open.",
                                                 ends_session=True)
        invocation = parse_invocation(text, self.model.invocation_name)
        query = text  # what is matched; the turn keeps the whole line for recordings
        if invocation is not None:
            self.active = None
            if invocation[1] is None:
                return self._send(Turn(text), builders.launch_request())
            query = invocation[1]
        elif self.active is not None and self.active.pending is not None:
            turn = self._answer_pending(text)
            if turn is not None:
                return turn
        match = self.matcher.match(query)
        if match is None:
            return Turn(text, ends_session=not self.in_session,
                        error=f"No intent matched {query!r}: the model has no sample for it "
                              f"and no {FALLBACK}.")
        dialog_model = self.model.dialog.get(match.intent)
        if dialog_model is None:
            self.active = None
            return self._send(Turn(text), match.request())
        self.active = delegation.ActiveDialog(match.intent, match.slots, dialog_model)
        if self.active.auto:
            return self._delegate(Turn(text))
        return self._send_dialog(Turn(text), "STARTED")

    def _answer_pending(self, text: str) -> Turn | None:
        active = self.active
        kind, slot = active.pending
        if kind == delegation.ELICIT:
            answer = self.matcher.answer_slot(active.intent, slot, text)
            if answer is None or (not answer.typed and self._other_intent(text)):
                return None  # the user moved on: the dialog is dropped, as on Alexa
            active.answer(kind, slot, body=answer.body)
        else:
            yes_no = self.matcher.is_yes_or_no(text)
            if yes_no is None:
                return None
            active.answer(kind, slot, yes=yes_no == "yes")
        if active.auto:
            return self._delegate(Turn(text))
        return self._send_dialog(Turn(text), "IN_PROGRESS")

    def _other_intent(self, text: str) -> bool:
        match = self.matcher.match(text)
        return match is not None and match.intent != FALLBACK

    def _delegate(self, turn: Turn) -> Turn:
        step = delegation.next_step(self.active)
        if step is None:
            return self._send_dialog(turn, "COMPLETED")
        self.active.pending = step
        turn.speech = delegation.prompt(self.model, self.active, *step)
        turn.output_speech = {"type": "PlainText", "text": turn.speech}
        turn.spoken_by, turn.reprompt, turn.card, turn.directives = "dialog model", None, None, []
        turn.ends_session = False
        # Without a session yet (auto-delegation from a one-shot), Alexa opens one now.
        self._reprompt, self._silences = turn.speech, 0
        return turn

    def _send_dialog(self, turn: Turn, state: str) -> Turn:
        active = self.active
        turn = self._send(turn, active.request(state))
        directive = delegation.dialog_directive(turn.directives)
        if turn.ends_session or turn.error or state == "COMPLETED" or directive is None:
            self.active = None
            return turn
        active.update(directive.get("updatedIntent"))
        kind = directive["type"]
        if kind == "Dialog.Delegate":
            return self._delegate(turn)
        if kind in delegation.DIRECTIVES:
            slot = directive.get("slotToElicit") or directive.get("slotToConfirm")
            active.pending = (delegation.DIRECTIVES[kind], slot)
        return turn

    def _silence(self) -> Turn:
        if not self.in_session:
            return Turn("", error="No session is open.", ends_session=True)
        self._silences += 1
        if self._reprompt and self._silences == 1:
            return Turn("", speech=self._reprompt, spoken_by="reprompt")
        return self._end(Turn(""), "EXCEEDED_MAX_REPROMPTS")

    def _end(self, turn: Turn, reason: str = "USER_INITIATED",
             error: dict | None = None) -> Turn | None:
        if not self.in_session:
            return None
        self.active = None
        if self.client.session_id is not None:  # else the skill never heard of this session
            self._send(turn, builders.session_ended_request(reason, error))
        turn.ends_session = True
        turn.speech, turn.output_speech, turn.reprompt = None, None, None  # Alexa says nothing
        turn.card, turn.directives = None, []
        return turn

    def _send(self, turn: Turn, request: dict) -> Turn:
        request["locale"] = self.locale
        turn.requests.append(request)
        try:
            reply = self.client.send(request)
        except OSError as exc:  # requests' errors are OSErrors too
            self.client.session_id, self.active = None, None
            turn.error, turn.ends_session = f"Could not reach the skill: {exc}", True
            return turn
        turn.replies.append(reply)
        if request["type"] == "SessionEndedRequest":
            self.client.session_id = None
            return turn
        if reply.status != 200 or reply.json is None:
            # Alexa apologises, then tells the skill why the session ended.
            message = f"HTTP {reply.status}: {reply.body[:200].decode('utf-8', 'replace')}"
            self._end(turn, "ERROR", {"type": "INVALID_RESPONSE", "message": message})
            turn.error, turn.speech, turn.spoken_by = message, PROBLEM, "error"
            return turn
        turn.show(reply)
        turn.ends_session = reply.response.get("shouldEndSession") is not False
        if turn.ends_session:
            self.client.session_id, self.active = None, None
        self._reprompt, self._silences = turn.reprompt, 0
        return turn
