"""A strict fake of Login with Amazon and SMAPI on loopback, for tests and local trials.

It speaks the same JSON as the real services (each handler names the reference it follows) and
is as strict where it matters: every SMAPI call needs a live access token (401) carrying the
right scope (403); updates with a stale If-Match are refused (412); a new or updated manifest is
built asynchronously, IN_PROGRESS for ``manifest_polls`` status polls (a new skill has no
development stage to upload a model to meanwhile: 404; a second update or an enablement then is
refused: 409); a model build stays IN_PROGRESS for ``build_polls`` polls and fails, with
Amazon-like messages naming the offending sample or slot, when the model is malformed; one
simulation at a time per user (409). Simulations are played by ``skills.smapi.simulator``,
which really sends signed requests to the manifest's endpoint. ``/ap/oa`` plays the operator
signing in: it redirects straight back with a code.
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

from .builds import build_steps, manifest_errors, model_errors
from .lwa import SCOPES
from .simulator import Simulator, failed

CLIENT_ID = "amzn1.application-oa2-client.fake0123456789"
CLIENT_SECRET = "fake-client-secret"  # noqa: S105 (the fake's own)
VENDOR = {"id": "M1FAKEVENDOR", "name": "Fake Vendor", "roles": ["ROLE_ADMINISTRATOR"]}
SKILLS_RW, MODELS_RW, TEST = SCOPES.split()
PATH = re.compile(r"^/v1/skills/(?P<id>[^/]+)/stages/development/(?P<rest>.+)$")
SIMULATION = re.compile(
    r"^/v2/skills/(?P<id>[^/]+)/stages/development/simulations(?:/(?P<sim>[^/]+))?$")
SESSION_MODES = ("DEFAULT", "FORCE_NEW_SESSION")
IN_PROGRESS, SUCCEEDED, FAILED = "IN_PROGRESS", "SUCCEEDED", "FAILED"
__all__ = ["CLIENT_ID", "CLIENT_SECRET", "VENDOR", "FakeSMAPI", "model_errors"]


class FakeSMAPI:
    """``url`` serves both LWA (``/ap/oa``, ``/auth/o2/token``) and SMAPI."""

    def __init__(self, *, sign: Callable[[bytes], dict] | None = None,
                 ca_bundle: str | None = None, build_polls: int = 2, manifest_polls: int = 1,
                 access_ttl: float = 3600.0, vendors: list[dict] | None = None,
                 client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET,
                 user: str = "amzn1.account.FAKEUSER"):
        self.simulator = Simulator(sign, ca_bundle)
        self.build_polls, self.manifest_polls = build_polls, manifest_polls
        self.access_ttl = access_ttl
        self.vendors = vendors or [VENDOR]
        self.client_id, self.client_secret, self.user = client_id, client_secret, user
        self.codes: dict[str, tuple[str, float, frozenset]] = {}  # → (redirect, expiry, scopes)
        self.access: dict[str, tuple[float, frozenset]] = {}  # token → (expiry, scopes)
        self.refresh_tokens: dict[str, frozenset] = {}
        self.skills: dict[str, dict] = {}
        self.simulations: dict[str, dict] = {}
        self.busy = False  # a simulation is running for the (one) user
        self.calls: list[tuple[str, str]] = []  # (method, path): what tests check
        self.answers: list[tuple[str, str, int]] = []  # (method, path, status) answered
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
                with fake._lock:
                    fake.answers.append((self.command, parts.path, status))
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

    # Login with Amazon: the authorization-code grant (authorization request and access token
    # request; errors are {"error", "error_description"}).

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
        if expiry <= time.time():  # SMAPI's 401 names its scheme (WWW-Authenticate)
            return 401, {"message": "Token is invalid/expired"}, {"WWW-Authenticate": "Bearer"}
        if scope not in scopes:
            return 403, {"message": f"The access token was not granted the scope {scope}."}, {}
        return None

    # SMAPI: errors are {"message"} (plus "code", or "violations" on a 400) ---------------

    def _smapi(self, method: str, path: str, query: dict, body, headers) -> tuple:
        if path == "/v1/vendors" and method == "GET":
            return 200, {"vendors": self.vendors}, {}
        if path == "/v1/skills" and method == "POST":
            return self._create(body)
        if path.startswith("/v1/skills/") and path.endswith("/status") and method == "GET":
            skill = self.skills.get(path.split("/")[3])
            if skill is None:
                return 404, {"message": "The resource being requested is not found."}, {}
            return 200, self._status(skill, (query.get("resource") or [""])[0]), {}
        sim = SIMULATION.match(path)
        if sim:
            return self._simulation(method, sim["id"], sim["sim"], body)
        match = PATH.match(path)
        skill = self.skills.get(match["id"]) if match else None
        if skill is None or self._creating(skill):
            # A new skill's development stage exists once its manifest is built.
            return 404, {"message": "The specified skill or stage does not exist."}, {}
        rest = match["rest"]
        if rest == "manifest":
            if method == "PUT" and self._building(skill):
                return 409, {"message": "An update of this skill's manifest is in progress."}, {}
            answer = self._resource(method, skill, "manifest", body, headers)
            if method == "PUT" and answer[0] == 202:
                skill["manifest_build"] = self._manifest_build(body, new=False)
            return answer
        if rest.startswith("interactionModel/locales/"):
            locale = rest.rsplit("/", 1)[1]
            entry = skill["models"].setdefault(locale, {"model": None, "etag": ""})
            answer = self._resource(method, entry, "model", body, headers)
            if method == "PUT" and answer[0] == 202:
                entry["build"] = {"polls": self.build_polls, "errors": model_errors(body)}
            return answer
        if rest == "enablement":
            if method == "PUT":
                if self._building(skill):
                    return 409, {"message": "The skill's manifest is still being built."}, {}
                skill["enabled"] = True
                return 204, None, {}
            return (204, None, {}) if skill["enabled"] else \
                (404, {"message": "The skill is not enabled in this stage."}, {})
        return 404, {"message": "The resource being requested is not found."}, {}

    def _manifest_build(self, envelope: dict, *, new: bool) -> dict:
        return {"polls": self.manifest_polls, "new": new,
                "errors": manifest_errors(envelope.get("manifest") or {})}

    @staticmethod
    def _building(skill: dict) -> bool:
        return skill["manifest_build"]["polls"] > 0

    def _creating(self, skill: dict) -> bool:
        return self._building(skill) and skill["manifest_build"]["new"]

    def _create(self, body) -> tuple:
        # Skill Manifest API, create: {"vendorId", "manifest"} → 202 {"skillId"} + Location.
        if not isinstance(body, dict) or not isinstance(body.get("manifest"), dict):
            return 400, {"message": "Missing manifest", "violations": [
                {"code": "MISSING_REQUIRED_PROPERTY", "message": "manifest is required"}]}, {}
        if body.get("vendorId") not in {v["id"] for v in self.vendors}:
            return 403, {"message": "You are not a member of this vendor."}, {}
        skill_id = f"amzn1.ask.skill.fake-{next(self._ids):04d}"
        envelope = {"manifest": body["manifest"]}
        self.skills[skill_id] = {"manifest": envelope, "etag": secrets.token_hex(8),
                                 "manifest_build": self._manifest_build(envelope, new=True),
                                 "models": {}, "enabled": False}
        return 202, {"skillId": skill_id}, {
            "Location": f"/v1/skills/{skill_id}/status?resource=manifest"}

    def _resource(self, method, entry, key, body, headers) -> tuple:
        # Manifest and model: GET with ETag; PUT with If-Match → 202, Location, no body.
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
        return 202, None, {"Location": "status"}

    def _status(self, skill: dict, resource: str) -> dict:
        # Get skill status: only the named resource, or all; each poll moves builds along.
        status = {}
        if resource in ("", "manifest"):
            build = skill["manifest_build"]
            if build["polls"] > 0:
                build["polls"] -= 1
                update = {"status": IN_PROGRESS}
            elif build["errors"]:
                update = {"status": FAILED, "errors": build["errors"]}
            else:
                update = {"status": SUCCEEDED}
            status["manifest"] = {"lastUpdateRequest": update, "eTag": skill["etag"]}
        if resource in ("", "interactionModel"):
            models = {}
            for locale, entry in skill["models"].items():
                build = entry.get("build")
                if build is None:
                    continue
                if build["polls"] > 0:
                    build["polls"] -= 1
                    update = {"status": IN_PROGRESS, "buildDetails": build_steps(IN_PROGRESS)}
                elif build["errors"]:
                    update = {"status": FAILED, "buildDetails": build_steps(FAILED), "errors": [
                        {"code": "INVALID_INTERACTION_MODEL", "message": m}
                        for m in build["errors"]]}
                else:
                    update = {"status": SUCCEEDED, "buildDetails": build_steps(SUCCEEDED)}
                    entry["live"] = entry["model"]  # what the simulator resolves with now
                models[locale] = {"lastUpdateRequest": update, "eTag": entry["etag"]}
            status["interactionModel"] = models
        return status

    # The simulator: POST then GET /v2/…/simulations[/{id}] --------------------------------

    def _simulation(self, method, skill_id, sim_id, body) -> tuple:
        skill = self.skills.get(skill_id)
        if skill is None:
            return 404, {"message": "The specified skill does not exist."}, {}
        if method == "GET" and sim_id:
            found = self.simulations.get(sim_id)
            return (200, found, {}) if found else \
                (404, {"message": "The specified simulation does not exist."}, {})
        if method != "POST" or sim_id:
            return 405, {"message": "Method not allowed"}, {}
        violations = self._simulation_violations(body)
        if violations:
            return 400, {"message": "Invalid simulation request", "violations": [
                {"message": v} for v in violations]}, {}
        if self.busy:  # the API model's 409: another simulation of this user is running
            return 409, {"message": "A simulation is already in progress for this user."}, {}
        locale = body["device"]["locale"]
        entry = skill["models"].get(locale) or {}
        build = entry.get("build")
        if build and build["polls"] == 0 and not build["errors"]:
            entry["live"] = entry["model"]  # built, even if nobody asked for the status yet
        sim_id = f"fake-simulation-{next(self._ids)}"
        self.simulations[sim_id] = {"id": sim_id, "status": IN_PROGRESS, "result": None}
        self.busy = True
        threading.Thread(target=self._simulate, daemon=True,
                         args=(sim_id, skill_id, skill, entry.get("live"), locale, body)).start()
        return 200, self.simulations[sim_id], {
            "Location": f"/v2/skills/{skill_id}/stages/development/simulations/{sim_id}"}

    @staticmethod
    def _simulation_violations(body) -> list[str]:
        if not isinstance(body, dict):
            return ["The request body must be a JSON object."]
        found = []
        if not str((body.get("input") or {}).get("content") or "").strip():
            found.append("input.content is required.")
        if not (body.get("device") or {}).get("locale"):
            found.append("device.locale is required.")
        mode = (body.get("session") or {}).get("mode", "DEFAULT")
        if mode not in SESSION_MODES:
            found.append(f'session.mode "{mode}" is not one of {", ".join(SESSION_MODES)}.')
        return found

    def _simulate(self, sim_id, skill_id, skill, model, locale, body) -> None:
        try:
            result = self.simulator.run(skill_id, skill, model, locale, body)
        except Exception as exc:  # the fake reports, never dies
            result = failed(f"An unexpected error occurred: {exc}")
        with self._lock:
            self.simulations[sim_id].update(result)
            self.busy = False
