"""The fake SMAPI's Alexa: what ``skills.smapi.testing`` answers for one simulation.

It reports each outcome the way the Skill Simulation API does (SMAPI's API model and what the
ASK CLI shows of it): a skill disabled for testing, or an utterance the skill's built model
does not resolve, makes the simulation FAILED with ``result.error.message``; a skill Alexa
called but got no usable answer from (unreachable, a certificate Alexa refuses, an HTTP error
such as a refused signature) makes it SUCCESSFUL, Alexa saying its apology as the caption, the
invocation holding the request sent and no response. Alexa's side is approximated by the
project's dialog engine (``skills.dialog``): it resolves the words with the built model, signs
the request with ``sign(body) -> headers`` and POSTs it to the manifest's endpoint, trusting
only ``ca_bundle`` (Amazon's trust store; None: the public CAs).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable

from skills.dialog import Dialog
from skills.dialog.model import InteractionModel
from skills.dialog.session import PROBLEM

# Alexa's words for these, paraphrased (the pages recognise them by their key words).
DISABLED = ("The skill is disabled in the development stage: enable it for testing to call "
            "this API.")
UNRESOLVED = ("The utterance did not resolve to any intent in your skill: invoke the skill "
              "or try another utterance, or add it to the interaction model and build it.")


class _Signer:
    """What the dialog's SkillClient calls ``pki``: only ``sign`` is used. It keeps each body
    it signed: the whole envelope the skill was sent, for the simulation's result."""

    def __init__(self, sign: Callable[[bytes], dict]):
        self._sign = sign
        self.sent: list[dict] = []

    def sign(self, body: bytes, url: str | None = None) -> dict:
        self.sent.append(json.loads(body))
        return self._sign(body)


def failed(message: str) -> dict:
    return {"status": "FAILED", "result": {"skillExecutionInfo": None,
                                           "error": {"message": message}}}


class Simulator:
    """One dialog (Alexa's session) per skill and locale, as the real simulator keeps one
    per user."""

    def __init__(self, sign: Callable[[bytes], dict] | None, ca_bundle: str | None):
        self.sign = sign or (lambda body: {})
        self.ca_bundle = ca_bundle
        self.dialogs: dict[str, tuple[Dialog, dict]] = {}  # key → (dialog, its model)

    def run(self, skill_id: str, skill: dict, model: dict | None, locale: str,
            body: dict) -> dict:
        """``{"status", "result"}`` of one simulation. ``model`` is the locale's last
        successfully built model, None when it never built."""
        if not skill["enabled"]:
            return failed(DISABLED)
        if model is None:
            return failed(UNRESOLVED)
        endpoint = ((skill["manifest"].get("manifest", {}).get("apis") or {}).get("custom")
                    or {}).get("endpoint") or {}
        uri = str(endpoint.get("uri") or "")
        key = f"{skill_id}/{locale}"
        new = (body.get("session") or {}).get("mode") == "FORCE_NEW_SESSION"
        dialog, built = self.dialogs.get(key) or (None, None)
        if dialog is None or new or dialog.client.target != uri or built != model:
            dialog = Dialog(uri, InteractionModel.from_text(json.dumps(model), f"{locale}.json"),
                            pki=_Signer(self.sign), locale=locale, application_id=skill_id,
                            ca_bundle=self.ca_bundle)
            self.dialogs[key] = (dialog, model)
        started = time.monotonic()
        dialog.pki.sent.clear()
        turn = dialog.say(str((body.get("input") or {}).get("content") or ""))
        if not turn.requests and turn.error:
            return failed(UNRESOLVED)
        usable = [reply if reply is not None and reply.status == 200 and reply.json else None
                  for reply in turn.replies]
        invocations = [{
            "invocationRequest": {"endpoint": uri, "body": request},
            "invocationResponse": {"body": reply.json} if reply else None,
            "metrics": {"skillExecutionTimeInMilliseconds":
                        int((time.monotonic() - started) * 1000)}}
            for request, reply in itertools.zip_longest(dialog.pki.sent, usable)]
        if turn.error and not turn.speech:  # no answer at all: Alexa apologises
            turn.speech = PROBLEM
        # The user's request comes first; a SessionEndedRequest about its failure may follow.
        intent = (turn.requests[0] if turn.requests else {}).get("intent") or {}
        alexa = {"alexaResponses": [{"type": "Speech", "content": {"caption": turn.speech}}]
                 if turn.speech else [],
                 "consideredIntents": [{"name": intent["name"], "confirmationStatus":
                                        intent.get("confirmationStatus", "NONE"),
                                        "slots": intent.get("slots") or {}}]
                 if intent.get("name") else []}
        return {"status": "SUCCESSFUL",
                "result": {"alexaExecutionInfo": alexa,
                           "skillExecutionInfo": {"invocations": invocations}}}
