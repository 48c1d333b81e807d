"""The voice check: ask Alexa "open <invocation name>" through AVS and prove the whole chain.

Alexa's answer alone proves little (Alexa apologises in full sentences too), so the proof is the
skill's own request log, read through the root helper: a LaunchRequest logged after the ask
came through Alexa's cloud, DuckDNS, Caddy, and passed the skill's signature check. When the
check fails it names the link that broke: AVS, Alexa, the way to the skill, or verification.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.contrib import admin
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from skills.runtime.requestlog import REFUSED
from skills.voice import AVSClient, Tokens, TokenStore, VoiceError
from skills.voice.audio import AudioFormatError

from ..catalogue.interaction import load_json
from ..catalogue.models import HostSettings, Skill
from ..deploy.client import HelperError
from . import services, skillfiles, voicehint
from .permissions import TEST_CONSOLE, VIEW_SKILL, staff_with

LOG_WAIT = 8.0  # seconds to wait for the skill's log line after Alexa answered
CLOCK_SLACK = dt.timedelta(seconds=2)
# What Alexa says when it did not hand the words to any skill.
NOT_OPENED = ("i don't know that", "i'm not sure", "i didn't catch that", "sorry, i don't",
              "i can't find", "isn't available", "is not available")


def token_store() -> TokenStore:
    return TokenStore(getattr(settings, "APPLIANCE_AVS_CONFIG", None))


def invocation_name(skill: Skill) -> str:
    text, _ = skillfiles.model_text(skill)
    try:
        model = load_json(text or "{}")
        return str(model["interactionModel"]["languageModel"]["invocationName"]).strip()
    except (ValueError, KeyError, TypeError):
        return (skill.name or skill.slug).lower()


def audio_path(skill: Skill) -> Path:
    return Path(settings.APPLIANCE_DATA_DIR) / "voicecheck" / f"{skill.slug}.mp3"


async def _ask(store: TokenStore, text: str, out_dir: str):
    async with AVSClient(Tokens(store), out_dir=out_dir, ask_timeout=20) as avs:
        return await avs.ask(text)


def _when(row: dict) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(row["time"])
    except (KeyError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _after(skill: Skill, started: dt.datetime) -> tuple[dict | None, dict | None]:
    """(the first verified LaunchRequest, the first refused request) logged since ``started``."""
    launch = refused = None
    for row in reversed(services.read_logs(skill.unit_name, 200)):  # oldest first
        when = _when(row)
        if when is None or when < started - CLOCK_SLACK:
            continue
        request = row["request"]  # parsed by the runtime's own skills.runtime.requestlog
        if not request:
            continue
        if request["outcome"] == REFUSED:
            refused = refused or dict(request, time=row["time"])
        elif request["type"] == "LaunchRequest" and launch is None:
            launch = dict(request, time=row["time"])
    return launch, refused


def run_check(skill: Skill) -> dict:
    """Ask, listen, read the log; the outcome as the page shows it."""
    name = invocation_name(skill)
    result = {"ok": False, "link": "", "message": "", "asked": f"open {name}", "caption": "",
              "audio": False, "request": None}
    store = token_store()
    where = voicehint.reach(skill, HostSettings.load())
    if not store.exists():
        result.update(link="avs", message="AVS is not linked: on the host, run "
                      f"{voicehint.login_command(store.path)}")
        return result
    started = dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory(prefix="voicecheck-") as tmp:
        try:
            answer = asyncio.run(_ask(store, result["asked"], tmp))
        except (VoiceError, AudioFormatError) as exc:
            result.update(link="avs", message=f"AVS: {exc}")
            return result
        if answer.audio:
            target = audio_path(skill)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(answer.audio[0], target)
            result["audio"] = True
    result["caption"] = answer.text
    if answer.heard_nothing:
        result.update(link="alexa", message="Alexa heard nothing it could act on (AVS answered "
                      "204): the spoken request was not understood.")
        return result
    deadline = time.monotonic() + LOG_WAIT
    try:
        while True:
            launch, refused = _after(skill, started)
            if launch or refused or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    except HelperError as exc:
        result.update(link="logs", message=f"Alexa answered, but the skill's log could not be "
                      f"read to confirm the request: {exc}")
        return result
    said = answer.text or "(no caption)"
    if launch:
        result.update(ok=True, request=launch, message=f"Alexa opened {name}, and the skill "
                      f"logged a verified LaunchRequest ({launch['request_id'] or 'no id'}) "
                      f"at {launch['time']}: {where['way']} all work.")
    elif refused:
        result.update(link="verification", message="A request reached the skill after the ask "
                      f"but its verification refused it: {refused.get('reason') or 'no reason'}"
                      ". Check the skill ID in the skill's settings and that request "
                      "verification trusts Amazon's certificates.")
    elif any(phrase in said.lower() for phrase in NOT_OPENED):
        result.update(link="alexa", message=f"Alexa did not open the skill: it answered “{said}”"
                      f". Is the skill enabled for this Amazon account, and is its invocation "
                      f"name “{name}”?")
    else:
        result.update(link="skill", message=f"Alexa answered “{said}”, but no request reached "
                      "the skill's log within "
                      f"{LOG_WAIT:.0f} s: the skill never received it. {where['hint']}")
    return result


@staff_with(VIEW_SKILL, TEST_CONSOLE)
def voice_check(request, slug):
    skill = get_object_or_404(Skill, slug=slug)
    result = run_check(skill) if request.method == "POST" else None
    context = {
        **admin.site.each_context(request),
        "title": f"Voice check: {skill}",
        "skill": skill,
        "linked": token_store().exists(),
        "invocation": invocation_name(skill),
        "login_command": voicehint.login_command(token_store().path),
        "reach": voicehint.reach(skill, HostSettings.load()),
        "result": result,
        "audio_url": (reverse("console:voice_check_audio", args=[skill.slug])
                      + f"?t={int(time.time())}") if result and result["audio"] else "",
    }
    return render(request, "console/voice_check.html", context)


@staff_with(VIEW_SKILL, TEST_CONSOLE)
def voice_check_audio(request, slug):
    skill = get_object_or_404(Skill, slug=slug)
    path = audio_path(skill)
    if not path.is_file():
        raise Http404("No answer recorded yet.")
    return FileResponse(path.open("rb"), content_type="audio/mpeg")
