"""Ask Alexa: an utterance through Alexa's Skill Simulation API, proven in the skill's log.

The simulator resolves the words with the skill's published model and calls the skill's
HTTPS endpoint as Alexa does, so a good answer proves the model, enablement, the way in and the
skill's verification. What Alexa resolved and said comes from the simulation; the request's
arrival (verified, or refused and why) from the skill's own request log, matched by request ID.
When something fails, the page names the link that broke (``askdiagnose``).
"""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.contrib import admin
from django.shortcuts import get_object_or_404, render

from skills.smapi import LinkError, SmapiError

from ..catalogue.models import AlexaAccount, Skill
from . import alexa, askdiagnose
from .permissions import TEST_CONSOLE, VIEW_SKILL, staff_with
from .publish import current_id
from .voicecheck import invocation_name

MAX_TURNS = 12


class AskForm(forms.Form):
    utterance = forms.CharField(max_length=300, label="Say")
    new_session = forms.BooleanField(required=False, label="Start a new session")


def _failure(exc: SmapiError) -> dict:
    """SMAPI refused the simulation itself (it never started)."""
    if isinstance(exc, alexa.NotLinked | LinkError):
        link, what = "account", "The Amazon developer account link does not work: link it again."
    elif exc.status == 404:
        link, what = "smapi", ("Amazon has no such skill (deleted in the developer console?): "
                               "publish it again.")
    else:
        link, what = "smapi", "Amazon's Skill Management API refused the simulation."
    return {"ok": False, "link": link, "message": f"{what} ({exc})", "intent": "",
            "speech": "", "new": False, "logged": None}


def ask(skill: Skill, skill_id: str, utterance: str, new_session: bool, **options) -> dict:
    started = dt.datetime.now(dt.UTC)
    try:
        with alexa.smapi_client() as smapi:
            sim = smapi.simulate(skill_id, utterance, new_session=new_session)
            turn = askdiagnose.diagnose(skill, sim, smapi, skill_id, said=utterance,
                                        started=started, **options)
    except SmapiError as exc:
        turn = _failure(exc)
    return dict(turn, said=utterance, broken=askdiagnose.LINKS.get(turn["link"], ""))


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
