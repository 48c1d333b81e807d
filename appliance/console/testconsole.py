"""The test console: signed Alexa requests sent the real way (Caddy, then the skill).

Requests go over HTTPS to Caddy on 127.0.0.1 with the skill's name as SNI and Host, exactly as
Alexa's would arrive, signed by the console's CA (which a skill trusts only while its "test
console" switch is on). Certificates are not verified: this is loopback to our own proxy, and
an internal CA's certificate would not verify anyway. The dialogue (session id, attributes and
the turns so far) lives in the operator's Django session, one per skill.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import uuid

from django.contrib import messages
from django.contrib.admin import site
from django.shortcuts import get_object_or_404, redirect, render

from skills.runtime.testing import builders
from skills.runtime.testing.client import Reply

from ..catalogue.models import Skill
from ..catalogue.validators import split_ids
from . import skillfiles
from .ca import ConsoleCA
from .forms import TurnForm
from .hoststatus import https_port
from .permissions import TEST_CONSOLE, VIEW_SKILL, staff_with

TIMEOUT = 10.0
MAX_TURNS = 12


class LoopbackHTTPSConnection(http.client.HTTPSConnection):
    """Connects to 127.0.0.1 whatever the host name; the name still goes out as SNI."""

    def __init__(self, host: str, port: int, timeout: float):
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.tls.check_hostname = False
        self.tls.verify_mode = ssl.CERT_NONE  # loopback to our own proxy
        super().__init__(host, port, timeout=timeout, context=self.tls)

    def connect(self):
        raw = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)


class SendError(Exception):
    """The request did not get an HTTP answer; the message says why in words."""


def post_to_skill(fqdn: str, port: int, body: bytes, headers: dict) -> tuple[int, bytes]:
    connection = LoopbackHTTPSConnection(fqdn, port, TIMEOUT)
    where = f"Caddy on 127.0.0.1:{port} for {fqdn}"
    try:
        connection.request("POST", "/", body=body,
                           headers={"Host": fqdn, "Content-Type": "application/json",
                                    **headers})
        answer = connection.getresponse()
        return answer.status, answer.read(1024 * 1024)
    except ConnectionRefusedError:
        raise SendError(f"Could not reach {where}: connection refused. Is Caddy "
                        "running?") from None
    except TimeoutError:
        raise SendError(f"No answer from {where} within {TIMEOUT:.0f} s.") from None
    except ssl.SSLError as exc:
        raise SendError(f"The TLS handshake with {where} failed ({exc.reason or exc}). Does "
                        "Caddy serve this name yet? Apply first.") from None
    except (OSError, http.client.HTTPException) as exc:
        raise SendError(f"The request through {where} failed: {exc}") from None
    finally:
        connection.close()


def _state(request, skill: Skill) -> dict:
    state = request.session.get(f"console:{skill.slug}") or {}
    state.setdefault("session_id", None)
    state.setdefault("attributes", {})
    state.setdefault("turns", [])
    state.setdefault("user_id", f"amzn1.ask.account.console-{uuid.uuid4().hex}")
    return state


def _save(request, skill: Skill, state: dict) -> None:
    request.session[f"console:{skill.slug}"] = state


def _label(cleaned: dict) -> str:
    action = cleaned["action"]
    if action == "utterance":
        return f"“{cleaned['utterance']}” → {cleaned.get('matched')}"
    if action == "intent":
        slots = cleaned["request"]["intent"].get("slots") or {}
        filled = ", ".join(f"{k}={v['value']}" for k, v in slots.items() if "value" in v)
        return f"{cleaned['intent']}({filled})"
    return cleaned["request"]["type"]


def play_turn(skill: Skill, state: dict, cleaned: dict) -> dict:
    """Send one request in the dialogue's session; the turn as the page shows it."""
    alexa_request = cleaned["request"]
    new = state["session_id"] is None
    if new:
        state["session_id"] = f"amzn1.echo-api.session.{uuid.uuid4()}"
        state["attributes"] = {}
    ids = split_ids(skill.application_ids)
    envelope = builders.envelope(alexa_request, session_id=state["session_id"],
                                 new_session=new, attributes=state["attributes"],
                                 application_id=ids[0] if ids else builders.APPLICATION_ID,
                                 user_id=state["user_id"])
    body = json.dumps(envelope).encode()
    turn = {"said": _label(cleaned), "new": new, "request": json.dumps(envelope, indent=2),
            "status": None, "error": "", "response": ""}
    try:
        headers = ConsoleCA.load_or_create().sign(body)
    except (OSError, ValueError) as exc:
        turn["error"] = f"The console cannot sign requests: its CA is unusable ({exc})."
        return turn
    try:
        status, raw = post_to_skill(skill.fqdn(), https_port(), body, headers)
    except SendError as exc:
        turn["error"] = str(exc)
        return turn
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    reply = Reply(status, raw, parsed if isinstance(parsed, dict) else None)
    turn.update(status=status, speech=reply.speech, reprompt=reply.reprompt, card=reply.card,
                ends=bool(reply.ends_session))
    if reply.json is None:
        turn["response"] = raw.decode("utf-8", "replace")[:4000]
        turn["error"] = f"The skill answered HTTP {status} without an Alexa response."
        return turn
    turn["response"] = json.dumps(reply.json, indent=2)
    if status == 200:
        state["attributes"] = reply.attributes
    if reply.ends_session or alexa_request["type"] == "SessionEndedRequest":
        state["session_id"] = None  # the next turn opens a new session, as Alexa would
        state["attributes"] = {}
    return turn


@staff_with(VIEW_SKILL, TEST_CONSOLE)
def console_index(request):
    skills = list(Skill.objects.all())
    wanted = request.GET.get("skill")
    chosen = (next((s for s in skills if s.slug == wanted), None)
              or next((s for s in skills if s.test_console and s.enabled), None)
              or (skills[0] if skills else None))
    if chosen is not None:
        return redirect("console:test_console", slug=chosen.slug)
    context = {**site.each_context(request), "title": "Test console", "skills": skills}
    return render(request, "console/test_console.html", context)


@staff_with(VIEW_SKILL, TEST_CONSOLE)
def test_console(request, slug):
    skill = get_object_or_404(Skill, slug=slug)
    model_text, _ = skillfiles.model_text(skill)
    state = _state(request, skill)
    form = TurnForm(request.POST or None, skill=skill, model_text=model_text)
    if request.method == "POST":
        if request.POST.get("action") == "reset":
            request.session.pop(f"console:{skill.slug}", None)
            messages.info(request, "A new session starts with the next request.")
            return redirect("console:test_console", slug=skill.slug)
        if form.is_valid():
            turn = play_turn(skill, state, form.cleaned_data)
            if turn["error"]:
                messages.error(request, turn["error"])
            state["turns"] = [turn, *state["turns"]][:MAX_TURNS]
            _save(request, skill, state)
            return redirect("console:test_console", slug=skill.slug)
    context = {
        **site.each_context(request),
        "title": f"Test console: {skill}",
        "skill": skill,
        "skills": Skill.objects.all(),
        "form": form,
        "state": state,
        "session_attributes": json.dumps(state["attributes"], indent=2),
        "slot_groups": form.bound_slot_groups(),
        "port": https_port(),
    }
    return render(request, "console/test_console.html", context)
