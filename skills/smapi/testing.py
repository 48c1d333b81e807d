"""A strict fake of Login with Amazon and SMAPI on loopback, for tests and local trials.

It speaks the same JSON as the real services and is as strict where it matters: every SMAPI
call needs a live access token (401) carrying the right scope (403); updates with a stale
If-Match are refused (412); a model build stays IN_PROGRESS for a few status polls and fails,
with Amazon-like messages naming the offending sample or slot, when the model is malformed; one
simulation at a time per user (429). A simulation really sends a signed request to the endpoint
in the skill's manifest: the utterance is resolved with the project's dialog engine
(``skills.dialog``, an approximation of Alexa's NLU) and signed by ``sign(body) -> headers``
(the admin passes its test-console CA), and the skill's answer comes back in the result.
``/ap/oa`` plays the operator signing in: it redirects straight back with a code.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from skills.dialog import Dialog
from skills.dialog.model import InteractionModel

from .lwa import SCOPES

CLIENT_ID = "amzn1.application-oa2-client.fake0123456789"
CLIENT_SECRET = "fake-client-secret"  # noqa: S105 (the fake's own)
VENDOR = {"id": "M1FAKEVENDOR", "name": "Fake Vendor", "roles": ["ROLE_ADMINISTRATOR"]}
SKILLS_RW, MODELS_RW, TEST = SCOPES.split()
PATH = re.compile(r"^/v1/skills/(?P<id>[^/]+)/stages/development/(?P<rest>.+)$")
SIMULATION = re.compile(
    r"^/v2/skills/(?P<id>[^/]+)/stages/development/simulations(?:/(?P<sim>[^/]+))?$")
SLOT_REF = re.compile(r"{([^{}]*)}")


class _Signer:
    """What the dialog's SkillClient calls ``pki``: only ``sign`` is used. It keeps each body
    it signed: the whole envelope the skill was sent, for the simulation's result."""

    def __init__(self, sign: Callable[[bytes], dict]):
        self._sign = sign
        self.sent: list[dict] = []

    def sign(self, body: bytes, url: str | None = None) -> dict:
        self.sent.append(json.loads(body))
        return self._sign(body)


def model_errors(model: dict) -> list[str]:
    """What the build refuses, worded like Amazon's build errors (they quote the culprit)."""
    language = (model.get("interactionModel") or {}).get("languageModel") or {}
    errors = []
    name = str(language.get("invocationName") or "")
    if not name or name != name.lower() or len(name) < 2:
        errors.append(f'Invocation name "{name}" must be lower case, at least two letters.')
    types = {t.get("name") for t in language.get("types") or [] if isinstance(t, dict)}
    for intent in language.get("intents") or []:
        slots = {s.get("name"): s.get("type") for s in intent.get("slots") or []}
        for slot, kind in slots.items():
            if kind not in types and not str(kind).startswith("AMAZON."):
                errors.append(f'Slot "{slot}" of intent "{intent.get("name")}" has the '
                              f'undefined slot type "{kind}".')
        for sample in intent.get("samples") or []:
            for ref in SLOT_REF.findall(sample):
                if ref not in slots:
                    errors.append(f'Sample utterance "{sample}" in intent "{intent.get("name")}"'
                                  f' refers to the slot "{ref}", which the intent does not have.')
    return errors


class FakeSMAPI:
    """``url`` serves both LWA (``/ap/oa``, ``/auth/o2/token``) and SMAPI."""

    def __init__(self, *, sign: Callable[[bytes], dict] | None = None,
                 ca_bundle: str | None = None, build_polls: int = 2,
                 access_ttl: float = 3600.0, vendors: list[dict] | None = None,
                 client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET,
                 user: str = "amzn1.account.FAKEUSER"):
        self.sign, self.ca_bundle = sign, ca_bundle
        self.build_polls, self.access_ttl = build_polls, access_ttl
        self.vendors = vendors or [VENDOR]
        self.client_id, self.client_secret, self.user = client_id, client_secret, user
        self.codes: dict[str, tuple[str, float, frozenset]] = {}  # → (redirect, expiry, scopes)
        self.access: dict[str, tuple[float, frozenset]] = {}  # token → (expiry, scopes)
        self.refresh_tokens: dict[str, frozenset] = {}
        self.skills: dict[str, dict] = {}
        self.simulations: dict[str, dict] = {}
        self.dialogs: dict[str, Dialog] = {}
        self.busy = False  # a simulation is running for the (one) user
        self.calls: list[tuple[str, str]] = []  # (method, path): what tests check
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                parts = urlsplit(self.path)
                size = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(size) if size else b""
                status, body, headers = fake.route(self.command, parts.path,
                                                   parse_qs(parts.query), raw, self.headers)
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.authorize_url = f"{self.url}/ap/oa"
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeSMAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    # Test controls ------------------------------------------------------------------------

    def expire_access_tokens(self) -> None:
        """Every access token is refused from now on (revoked early): clients must refresh."""
        with self._lock:
            self.access.clear()

    def writes(self) -> list[tuple[str, str]]:
        return [call for call in self.calls if call[0] in ("PUT", "POST")
                and not call[1].startswith("/auth/")]

    # Routing ------------------------------------------------------------------------------

    def route(self, method: str, path: str, query: dict, raw: bytes, headers) -> tuple:
        with self._lock:
            self.calls.append((method, path))
        if path == "/ap/oa" and method == "GET":
            return self._authorize(query)
        if path == "/auth/o2/token" and method == "POST":
            return self._token(parse_qs(raw.decode()))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return 400, {"message": "The request body is not JSON."}, {}
        scope = TEST if "/simulations" in path or path.endswith("/enablement") else \
            MODELS_RW if "/interactionModel/" in path else SKILLS_RW
        refused = self._check_token(headers.get("Authorization", ""), scope)
        if refused:
            return refused
        with self._lock:
            return self._smapi(method, path, query, body, headers)

    def _authorize(self, query: dict) -> tuple:
        get = {k: v[0] for k, v in query.items()}
        if get.get("client_id") != self.client_id or get.get("response_type") != "code":
            return 400, {"error": "invalid_request"}, {}
        scopes = frozenset(get.get("scope", "").split())
        if not scopes or not scopes <= set(SCOPES.split()):
            return 400, {"error": "invalid_scope"}, {}
        code = secrets.token_urlsafe(16)
        with self._lock:
            self.codes[code] = (get.get("redirect_uri", ""), time.time() + 300, scopes)
        target = get.get("redirect_uri", "")
        sep = "&" if "?" in target else "?"
        return 302, None, {"Location": target + sep + urlencode(
            {"code": code, "scope": get["scope"], "state": get.get("state", "")})}

    def _token(self, form: dict) -> tuple:
        get = {k: v[0] for k, v in form.items()}
        if get.get("client_id") != self.client_id or \
                get.get("client_secret") != self.client_secret:
            return 401, {"error": "invalid_client",
                         "error_description": "Client authentication failed"}, {}
        with self._lock:
            if get.get("grant_type") == "authorization_code":
                redirect, expiry, scopes = self.codes.pop(get.get("code", ""),
                                                          ("", 0.0, frozenset()))
                if expiry < time.time() or redirect != get.get("redirect_uri"):
                    return 400, {"error": "invalid_grant",
                                 "error_description": "The code is invalid or used"}, {}
                refresh = "Atzr|" + secrets.token_urlsafe(24)
                self.refresh_tokens[refresh] = scopes
            elif get.get("grant_type") == "refresh_token":
                refresh = get.get("refresh_token", "")
                if refresh not in self.refresh_tokens:
                    return 400, {"error": "invalid_grant"}, {}
                scopes = self.refresh_tokens[refresh]
            else:
                return 400, {"error": "unsupported_grant_type"}, {}
            access = "Atza|" + secrets.token_urlsafe(24)
            self.access[access] = (time.time() + self.access_ttl, scopes)
        return 200, {"access_token": access, "refresh_token": refresh, "token_type": "bearer",
                     "expires_in": int(self.access_ttl)}, {}

    def _check_token(self, header: str, scope: str) -> tuple | None:
        token = header.removeprefix("Bearer ")
        with self._lock:
            expiry, scopes = self.access.get(token, (0.0, frozenset()))
        if expiry <= time.time():
            return 401, {"message": "Token is invalid/expired"}, {}
        if scope not in scopes:
            return 403, {"message": f"The access token was not granted the scope {scope}."}, {}
        return None

    def _smapi(self, method: str, path: str, query: dict, body, headers) -> tuple:
        if path == "/v1/vendors" and method == "GET":
            return 200, {"vendors": self.vendors}, {}
        if path == "/v1/skills" and method == "POST":
            return self._create(body)
        if path.startswith("/v1/skills/") and path.endswith("/status") and method == "GET":
            skill = self.skills.get(path.split("/")[3])
            if skill is None:
                return 404, {"message": "Skill not found"}, {}
            return 200, self._status(skill, (query.get("resource") or [""])[0]), {}
        sim = SIMULATION.match(path)
        if sim:
            return self._simulation(method, sim["id"], sim["sim"], body)
        match = PATH.match(path)
        skill = self.skills.get(match["id"]) if match else None
        if skill is None:
            return 404, {"message": "The resource being requested is not found."}, {}
        rest = match["rest"]
        if rest == "manifest":
            return self._resource(method, skill, skill, "manifest", body, headers)
        if rest.startswith("interactionModel/locales/"):
            locale = rest.rsplit("/", 1)[1]
            entry = skill["models"].setdefault(locale, {"model": None, "etag": ""})
            answer = self._resource(method, skill, entry, "model", body, headers)
            if method == "PUT" and answer[0] == 202:
                errors = model_errors(body or {})
                entry["build"] = {"polls": self.build_polls, "errors": errors}
            return answer
        if rest == "enablement":
            if method == "PUT":
                skill["enabled"] = True
                return 204, None, {}
            return (204, None, {}) if skill["enabled"] else (404, {"message": "Not enabled"}, {})
        return 404, {"message": "No such resource."}, {}

    def _create(self, body) -> tuple:
        if not isinstance(body, dict) or not isinstance(body.get("manifest"), dict):
            return 400, {"message": "Missing manifest", "violations": [
                {"code": "MISSING_REQUIRED_PROPERTY", "message": "manifest is required"}]}, {}
        if body.get("vendorId") not in {v["id"] for v in self.vendors}:
            return 403, {"message": "You are not a member of this vendor."}, {}
        skill_id = f"amzn1.ask.skill.fake-{next(self._ids):04d}"
        self.skills[skill_id] = {"manifest": {"manifest": body["manifest"]},
                                 "etag": secrets.token_hex(8), "models": {}, "enabled": False}
        return 202, {"skillId": skill_id}, {"Location": f"/v1/skills/{skill_id}/status"}

    def _resource(self, method, skill, entry, key, body, headers) -> tuple:
        if method == "GET":
            if entry[key] is None:
                return 404, {"message": f"No {key} for this locale."}, {}
            return 200, entry[key], {"ETag": entry["etag"]}
        if method != "PUT":
            return 405, {"message": "Method not allowed"}, {}
        match = headers.get("If-Match")
        if match and match != entry["etag"]:
            return 412, {"message": "The resource has changed since it was read (ETag "
                                    "mismatch)."}, {}
        if not isinstance(body, dict):
            return 400, {"message": f"The {key} is not a JSON object."}, {}
        entry[key], entry["etag"] = body, secrets.token_hex(8)
        return 202, None, {"ETag": entry["etag"], "Location": "status"}

    def _status(self, skill: dict, resource: str) -> dict:
        if resource == "manifest":
            return {"manifest": {"lastUpdateRequest": {"status": "SUCCEEDED"},
                                 "eTag": skill["etag"]}}
        models = {}
        for locale, entry in skill["models"].items():
            build = entry.get("build")
            if build is None:
                continue
            if build["polls"] > 0:
                build["polls"] -= 1
                state = {"status": "IN_PROGRESS"}
            elif build["errors"]:
                state = {"status": "FAILED", "errors": [{"code": "INVALID_INTERACTION_MODEL",
                                                         "message": m} for m in build["errors"]]}
            else:
                state = {"status": "SUCCEEDED"}
            models[locale] = {"lastUpdateRequest": state, "eTag": entry["etag"]}
        return {"interactionModel": models}

    # The simulator ------------------------------------------------------------------------

    def _simulation(self, method, skill_id, sim_id, body) -> tuple:
        skill = self.skills.get(skill_id)
        if skill is None:
            return 404, {"message": "Skill not found"}, {}
        if method == "GET" and sim_id:
            found = self.simulations.get(sim_id)
            return (200, found, {}) if found else (404, {"message": "No such simulation"}, {})
        if method != "POST" or not isinstance(body, dict):
            return 400, {"message": "Invalid simulation request"}, {}
        if self.busy:
            return 429, {"message": "A simulation is already in progress for this user."}, \
                {"Retry-After": "1"}
        locale = str((body.get("device") or {}).get("locale") or "")
        entry = skill["models"].get(locale) or {}
        if not skill["enabled"]:
            return 400, {"message": "This skill is not enabled for testing in the "
                                    "development stage."}, {}
        build = entry.get("build")
        if not build or build["polls"] > 0 or build["errors"]:
            return 400, {"message": f"The interaction model for {locale} is not built."}, {}
        sim_id = f"fake-simulation-{next(self._ids)}"
        self.simulations[sim_id] = {"id": sim_id, "status": "IN_PROGRESS", "result": None}
        self.busy = True
        threading.Thread(target=self._simulate, daemon=True,
                         args=(sim_id, skill_id, skill, entry, locale, body)).start()
        return 200, self.simulations[sim_id], {}

    def _simulate(self, sim_id, skill_id, skill, entry, locale, body) -> None:
        try:
            result = self._run(skill_id, skill, entry, locale, body)
        except Exception as exc:  # the fake reports, never dies
            result = {"status": "FAILED", "result": {"error": {"message": str(exc)}}}
        with self._lock:
            self.simulations[sim_id].update(result)
            self.busy = False

    def _run(self, skill_id, skill, entry, locale, body) -> dict:
        endpoint = ((skill["manifest"]["manifest"].get("apis") or {}).get("custom") or {}) \
            .get("endpoint") or {}
        uri = str(endpoint.get("uri") or "")
        key = f"{skill_id}/{locale}"
        new = (body.get("session") or {}).get("mode") == "FORCE_NEW_SESSION"
        dialog = self.dialogs.get(key)
        if dialog is None or new or dialog.client.target != uri:
            model = InteractionModel.from_text(json.dumps(entry["model"]), f"{locale}.json")
            dialog = Dialog(uri, model, pki=_Signer(self.sign or (lambda b: {})),
                            locale=locale, application_id=skill_id, ca_bundle=self.ca_bundle)
            self.dialogs[key] = dialog
        utterance = str((body.get("input") or {}).get("content") or "")
        started = time.monotonic()
        dialog.pki.sent.clear()
        turn = dialog.say(utterance)
        invocations = [{
            "invocationRequest": {"endpoint": uri, "body": request},
            "invocationResponse": {"body": reply.json} if reply and reply.json else None,
            "metrics": {"skillExecutionTimeInMilliseconds":
                        int((time.monotonic() - started) * 1000)}}
            for request, reply in itertools.zip_longest(dialog.pki.sent, turn.replies)]
        intent = ((turn.request or {}).get("intent") or {}).get("name")
        result = {"alexaExecutionInfo": {
            "alexaResponses": [{"type": "Speech", "content": {"caption": turn.speech or ""}}]
            if turn.speech else [],
            "consideredIntents": [{"name": intent, "confirmationStatus": "NONE",
                                   "slots": (turn.request.get("intent") or {}).get("slots")
                                   or {}}] if intent else []},
            "skillExecutionInfo": {"invocations": invocations}}
        if turn.error and not turn.replies:
            result["error"] = {"message": f"Skill endpoint {uri}: {turn.error}"}
            return {"status": "FAILED", "result": result}
        return {"status": "SUCCESSFUL", "result": result}
