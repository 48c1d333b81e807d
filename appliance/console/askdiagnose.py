"""Which link broke when Alexa's simulator did not get the skill's answer (Ask Alexa).

Each is recognised from what the simulation reports, SMAPI's own state and the logs, the way
the real services report them:

- model not built: the simulation FAILED (the words resolved to nothing), and the locale's
  last build is missing, in progress or FAILED (its errors shown);
- skill not enabled: the simulation FAILED, and SMAPI's enablement says 404;
- request refused by verification: Alexa apologised, and the skill logged a refused request
  (by its request ID, or since the simulation started when the signature itself was refused);
- endpoint unreachable / certificate refused: Alexa apologised and neither the skill nor Caddy
  saw the request. A TLS handshake from here failing with the CAs Amazon trusts, or Caddy
  logging a failed handshake meanwhile, names the certificate; a connection failing from here
  too names the endpoint.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import time
from urllib.parse import urlsplit

import certifi
from django.conf import settings

from skills.dialog.session import PROBLEM
from skills.smapi import Simulation, SmapiClient, SmapiError
from skills.smapi.client import error_messages

from ..catalogue.models import Skill
from ..deploy.client import HelperError
from . import caddylog, services

LOG_WAIT = 5.0
# Each link the page can name, in the operator's words.
LINKS = {"model": "the interaction model", "enablement": "testing enablement",
         "utterance": "the words said", "verification": "the skill's request verification",
         "response": "the skill's response", "service": "the skill's service",
         "certificate": "the endpoint's certificate", "endpoint": "the way in to the endpoint",
         "simulator": "Alexa's simulator", "smapi": "the Skill Management API",
         "account": "the developer account link"}
PROBE_TIMEOUT = 5.0
# Go's words (Caddy's http.stdlib logger, at debug level) for a TLS handshake that failed,
# whichever side ended it: a client that refuses the certificate ends it with an alert.
HANDSHAKE_ERROR = "TLS handshake error"


def _since(row: dict, started: dt.datetime) -> bool:
    try:
        when = dt.datetime.fromisoformat(str(row.get("time") or "").replace("Z", "+00:00"))
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when >= started - dt.timedelta(seconds=1)


def _rows(unit: str, lines: int = 200) -> tuple[list[dict], str]:
    try:
        return services.read_logs(unit, lines), ""
    except HelperError as exc:
        return [], str(exc)


def skill_log(skill: Skill, request_id: str, started: dt.datetime, *,
              wait: float) -> tuple[dict | None, dict | None, str]:
    """(the skill's log entry for ``request_id``, a refused request logged since ``started``,
    "" or why the log could not be read), waiting up to ``wait`` seconds for either."""
    deadline = time.monotonic() + wait
    while True:
        rows, unreadable = _rows(skill.unit_name)
        requests = [dict(row["request"], time=row["time"]) for row in rows
                    if row.get("request")]
        logged = next((r for r in requests if request_id and r.get("request_id") == request_id),
                      None)
        refused = next((r for r in requests if r.get("outcome") == "refused"
                        and _since(r, started)), None)
        if logged or refused or unreadable or time.monotonic() > deadline:
            return logged, refused, unreadable
        time.sleep(0.3)


def caddy_saw(endpoint: str, started: dt.datetime) -> tuple[list[str], list[dict]]:
    """(TLS handshakes that failed, the endpoint host's access entries), both since
    ``started``. Handshake errors are Caddy's debug lines (logger http.stdlib)."""
    rows, _ = _rows(services.CADDY, 500)
    rows = [row for row in rows if _since(row, started)]
    handshakes = [row["message"] for row in rows if HANDSHAKE_ERROR in row["message"]]
    host = (urlsplit(endpoint).hostname or "").lower()
    seen = [row["access"] for row in rows if row.get("access")
            and caddylog.host_only(row["access"]["host"]) == host]
    return handshakes, seen


def probe(uri: str, *, cafile: str | None = None,
          timeout: float = PROBE_TIMEOUT) -> tuple[str, str]:
    """("ok" | "certificate" | "unreachable", why) for a TLS handshake with ``uri``'s host
    from here, trusting what Amazon trusts (``ASK_ENDPOINT_CA_BUNDLE``, else the public CAs).
    A plain http:// URL (a local stand-in) only gets a TCP connection."""
    parts = urlsplit(uri)
    if not parts.hostname:
        return "unreachable", f"{uri!r} is not a URL Alexa can call"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = parts.hostname
    if address == "localhost" or address.endswith(".localhost"):
        address = "127.0.0.1"  # RFC 6761: loopback, though glibc resolves no subdomain of it
    try:
        with socket.create_connection((address, port), timeout=timeout) as sock:
            if parts.scheme != "https":
                return "ok", ""
            context = ssl.create_default_context(
                cafile=cafile or settings.ASK_ENDPOINT_CA_BUNDLE or certifi.where())
            with context.wrap_socket(sock, server_hostname=parts.hostname):
                return "ok", ""
    except ssl.SSLCertVerificationError as exc:
        return "certificate", exc.verify_message or str(exc)
    except ssl.SSLError as exc:
        return "certificate", exc.reason or str(exc)
    except OSError as exc:
        return "unreachable", exc.strerror or exc.__class__.__name__


def _model(smapi: SmapiClient, skill_id: str, locale: str) -> str:
    """Why the locale's model cannot resolve anything, or "" when it is built."""
    build = smapi.model_build(skill_id, locale)
    status = build.get("status")
    if status == "SUCCEEDED":
        return ""
    if status == "IN_PROGRESS":
        return f"The {locale} interaction model is still being built: ask again in a minute."
    if status == "FAILED":
        errors = "; ".join(error_messages(build))
        return (f"The {locale} interaction model's last build failed ({errors or 'no message'})"
                ": fix it in the model editor and publish again.")
    return f"The skill has no built {locale} interaction model: publish it."


def failed(sim: Simulation, smapi: SmapiClient, skill_id: str, locale: str,
           said: str) -> tuple[str, str]:
    """(link, message) for a FAILED simulation: Alexa never called the skill."""
    error = sim.error or "the simulation failed without a message"
    # The model first: a publish whose build failed stopped before enabling testing.
    try:
        not_built = _model(smapi, skill_id, locale)
        enabled = not_built or smapi.enabled(skill_id)
    except SmapiError as exc:
        return "simulator", f"Alexa's simulator failed ({error}), and SMAPI said: {exc}"
    if not_built:
        return "model", not_built
    if not enabled:
        return "enablement", ("The skill is not enabled for testing in the development stage: "
                              f"publish it again (Alexa said: {error})")
    if "resolve" in error.lower():
        return "utterance", (f"Alexa did not take “{said}” for this skill: start with “open "
                             "<invocation name>”, or add the words as samples and publish.")
    return "simulator", f"Alexa's simulator failed: {error}"


def unanswered(skill: Skill, sim: Simulation, logged: dict | None, refused: dict | None,
               started: dt.datetime) -> tuple[str, str]:
    """(link, message) when Alexa called the skill but got no answer it could use."""
    if refused or (logged and logged.get("outcome") == "refused"):
        reason = (refused or logged).get("reason") or "no reason"
        return "verification", ("The request reached the skill but its verification refused "
                                f"it: {reason}. Is the published skill ID the one in the "
                                "skill's settings (apply after publishing)?")
    if logged:
        return "response", (f"The skill answered (logged {logged.get('outcome')}), but Alexa "
                            "could not use the answer: check the skill's response.")
    endpoint = sim.endpoint or skill.url()
    handshakes, seen = caddy_saw(endpoint, started)
    failing = [row for row in seen if row["status"] >= 500]
    if failing:
        return "service", (f"Caddy got Alexa's request but the skill did not answer (HTTP "
                           f"{failing[0]['status']}): is the skill's service running?")
    outcome, why = probe(endpoint)
    caddy = f" Caddy logged “{handshakes[0]}”." if handshakes else ""
    if outcome == "certificate":
        return "certificate", (f"Amazon refused the certificate of {endpoint}: with the CAs "
                               f"Amazon trusts, a TLS handshake from here fails too ({why})."
                               f"{caddy} Amazon accepts a certificate from a public CA (Let's "
                               "Encrypt) for the name in the manifest.")
    if handshakes:
        return "certificate", (f"Amazon's TLS handshake with {endpoint} failed.{caddy} From "
                               "here the certificate is trusted: check its name and chain as "
                               "the manifest's sslCertificateType says.")
    if outcome == "unreachable":
        return "endpoint", (f"Amazon could not reach the endpoint {endpoint}, and neither can "
                            f"this host ({why}).")
    return "endpoint", (f"Amazon's request never reached the endpoint {endpoint}, though this "
                        "host reaches it with a trusted certificate: check that the name "
                        "resolves publicly and port 443 is open to the internet.")


def diagnose(skill: Skill, sim: Simulation, smapi: SmapiClient, skill_id: str, *,
             said: str, started: dt.datetime, locale: str = "en-US",
             log_wait: float = LOG_WAIT) -> dict:
    """The turn as the page shows it, with ``link`` naming what broke ("" when all worked)."""
    turn = {"ok": False, "link": "", "message": "", "intent": sim.intent, "speech": sim.speech,
            "new": bool(((sim.request or {}).get("session") or {}).get("new")), "logged": None}
    if sim.status != "SUCCESSFUL":
        link, message = failed(sim, smapi, skill_id, locale, said)
        return dict(turn, link=link, message=message)
    if sim.request is None:
        return dict(turn, link="utterance", message="Alexa answered without calling the "
                    "skill: the words did not open it (say “open <invocation name>”).")
    request_id = str((sim.request.get("request") or {}).get("requestId") or "")
    answered = isinstance(sim.response, dict) and PROBLEM not in sim.speech
    # An answered request is in the log already, or within moments (the journal's delay); an
    # unanswered one may never be, so that wait is short.
    logged, refused, unreadable = skill_log(skill, request_id, started, wait=log_wait
                                            if answered else min(log_wait, 1.0))
    turn["logged"] = logged
    if not answered:
        link, message = unanswered(skill, sim, logged, refused, started)
        return dict(turn, link=link, message=message)
    if logged:
        return dict(turn, ok=True, message=f"The skill logged the verified request "
                    f"{request_id} at {logged['time']}.")
    return dict(turn, ok=True, message="Alexa's simulator got the skill's answer, but the "
                "request was not found in the skill's log" + (
                    f" (unreadable: {unreadable})." if unreadable else "."))
