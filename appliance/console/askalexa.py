"""Ask Alexa: an utterance through Alexa's Skill Simulation API, proven in the skill's log.

The simulator resolves the words with the skill's published model and calls the skill's
HTTPS endpoint as Alexa does, so a good answer proves the model, enablement, the way in and the
skill's verification. What Alexa resolved and said comes from the simulation; the request's
arrival (verified, or refused and why) from the skill's own request log, matched by request ID.
When something fails, the page names the link that broke.
"""

from __future__ import annotations

import re
import time

from django import forms
from django.contrib import admin
from django.shortcuts import get_object_or_404, render

from skills.smapi import Simulation, SmapiError

from ..catalogue.models import AlexaAccount, Skill
from ..deploy.client import HelperError
from . import alexa, services
from .permissions import TEST_CONSOLE, VIEW_SKILL, staff_with
from .publish import current_id
from .voicecheck import invocation_name

LOG_WAIT = 5.0
MAX_TURNS = 12
TLS_WORDS = ("certificate", "ssl", "tls", "handshake")
PROBLEM = "problem with the requested skill's response"


class AskForm(forms.Form):
    utterance = forms.CharField(max_length=300, label="Say")
    new_session = forms.BooleanField(required=False, label="Start a new session")


def _log_row(skill: Skill, request_id: str, wait: float) -> tuple[dict | None, str]:
    """(the skill's log entry for ``request_id``, "" or why the log could not be read)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            rows = services.read_logs(skill.unit_name, 200)
        except HelperError as exc:
            return None, str(exc)
        for row in rows:
            if (row.get("request") or {}).get("request_id") == request_id:
                return dict(row["request"], time=row["time"]), ""
        if time.monotonic() > deadline:
            return None, ""
        time.sleep(0.3)


def _refused_since(skill: Skill) -> dict | None:
    try:
        rows = services.read_logs(skill.unit_name, 50)
    except HelperError:
        return None
    return next((row["request"] for row in rows
                 if (row.get("request") or {}).get("outcome") == "refused"), None)


def diagnose(skill: Skill, sim: Simulation, *, log_wait: float = LOG_WAIT) -> dict:
    """The turn as the page shows it, with ``link`` naming what broke ("" when all worked)."""
    turn = {"ok": False, "link": "", "message": "", "intent": sim.intent, "speech": sim.speech,
            "new": bool(((sim.request or {}).get("session") or {}).get("new")), "logged": None}
    error = sim.error
    if sim.status == "FAILED" or sim.request is None:
        text = error or "the simulation failed without a message"
        if any(word in text.lower() for word in TLS_WORDS):
            turn.update(link="certificate", message=f"Amazon refused the endpoint's "
                        f"certificate: {text}")
        else:
            turn.update(link="endpoint", message=f"Amazon could not reach the skill's "
                        f"endpoint: {text}")
        return turn
    request_id = str((sim.request.get("request") or {}).get("requestId") or "")
    logged, unreadable = _log_row(skill, request_id, log_wait)
    turn["logged"] = logged
    if sim.response is None or PROBLEM in sim.speech.lower():
        refused = logged if logged and logged.get("outcome") == "refused" else \
            _refused_since(skill)
        if refused:
            turn.update(link="verification", message="The request reached the skill but its "
                        f"verification refused it: {refused.get('reason') or 'no reason'}. Is "
                        "the published skill ID the one in the skill's settings (apply after "
                        "publishing)?")
        else:
            turn.update(link="endpoint", message="Alexa got no usable answer from the skill, "
                        "and the skill's log shows no request: Amazon could not reach it.")
        return turn
    if logged:
        turn.update(ok=True, message=f"The skill logged the verified request {request_id} at "
                    f"{logged['time']}.")
    else:
        turn.update(ok=True, message="Alexa's simulator got the skill's answer, but the "
                    "request was not found in the skill's log" + (
                        f" (unreadable: {unreadable})." if unreadable else "."))
    return turn


def _failure(exc: SmapiError) -> dict:
    text = str(exc)
    link = "enablement" if "not enabled" in text.lower() else \
        "model" if "not built" in text.lower() or "model" in text.lower() else "smapi"
    what = {"enablement": "The skill is not enabled for testing: publish it again.",
            "model": "The interaction model is not built: publish it (and fix its errors).",
            "smapi": "Amazon's Skill Management API refused the simulation."}[link]
    return {"ok": False, "link": link, "message": f"{what} ({text})", "intent": "",
            "speech": "", "new": False, "logged": None}


def ask(skill: Skill, skill_id: str, utterance: str, new_session: bool, **options) -> dict:
    try:
        with alexa.smapi_client() as smapi:
            sim = smapi.simulate(skill_id, utterance, new_session=new_session)
    except SmapiError as exc:
        return dict(_failure(exc), said=utterance)
    return dict(diagnose(skill, sim, **options), said=utterance)


def play_memory_game(skill: Skill, skill_id: str, **options) -> list[dict]:
    """A whole game through the simulator in one session: open, yes, the numbers backwards."""
    turns = [ask(skill, skill_id, f"open {invocation_name(skill)}", True, **options)]
    if turns[-1]["ok"]:
        turns.append(ask(skill, skill_id, "yes", False, **options))
    if turns[-1]["ok"]:
        numbers = re.findall(r"\d", turns[-1]["speech"])[-3:]
        turns.append(ask(skill, skill_id, " ".join(reversed(numbers)), False, **options))
    return turns


@staff_with(VIEW_SKILL, TEST_CONSOLE)
def ask_page(request, slug):
    skill = get_object_or_404(Skill, slug=slug)
    key = f"askalexa:{skill.slug}"
    turns = request.session.get(key, [])
    skill_id = current_id(skill)
    form = AskForm(request.POST or None)
    ready = AlexaAccount.load().linked and bool(skill_id)
    if request.method == "POST" and ready:
        if "play" in request.POST:
            turns = play_memory_game(skill, skill_id)
        elif form.is_valid():
            new = form.cleaned_data["new_session"] or not turns
            turns = ([] if new else turns) + [ask(skill, skill_id, form.cleaned_data[
                "utterance"], new)]
        request.session[key] = turns[-MAX_TURNS:]
    return render(request, "console/ask_alexa.html", {
        **admin.site.each_context(request), "title": f"Ask Alexa: {skill}", "skill": skill,
        "opts": Skill._meta, "form": form, "turns": turns, "skill_id": skill_id,
        "linked": AlexaAccount.load().linked, "invocation": invocation_name(skill),
        "memory_game": skill.source == "memory_game"})
