"""A small client for the Alexa Skill Management API (SMAPI), development stage only.

Every call carries a Login with Amazon access token (refreshed once when SMAPI answers 401).
Throttling (429, after its Retry-After) and server errors (5xx, with doubling waits) are tried
again a few times; any other 4xx raises :class:`SmapiError` with Amazon's own message. The
manifest and each locale's model carry ETags: updates send If-Match, so a concurrent change
elsewhere is refused (412) instead of overwritten.

Shapes follow Amazon's SMAPI references and its published API model (the OpenAPI document the
ASK CLI tests against): each method names the reference section it follows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx

from .errors import BuildFailed, ManifestFailed, SmapiError, Unreachable
from .lwa import TokenSource

SMAPI_URL = "https://api.amazonalexa.com"
STAGE = "development"
TIMEOUT = 30.0
MAX_WAIT = 60.0  # the longest Retry-After honoured
POLL_FIRST = 0.25  # the first wait between status polls; it doubles up to ``poll_interval``
IN_PROGRESS, SUCCEEDED, FAILED = "IN_PROGRESS", "SUCCEEDED", "FAILED"


def _message(answer: httpx.Response) -> tuple[str, str, list[str]]:
    """(message, code, details) of an error body. SMAPI's error models: v1/v2 ``Error`` and
    ``StandardizedError`` are ``{"code", "message"}``; ``BadRequestError`` is ``{"message",
    "violations": [Error]}``."""
    try:
        data = answer.json()
    except ValueError:
        return answer.text[:300] or answer.reason_phrase, "", []
    if not isinstance(data, dict):
        return answer.reason_phrase, "", []
    details = [str(v.get("message")) for v in data.get("violations") or []
               if isinstance(v, dict) and v.get("message")]
    return str(data.get("message") or answer.reason_phrase), str(data.get("code") or ""), \
        details


def error_messages(update: dict) -> list[str]:
    """The messages of a ``lastUpdateRequest``'s ``errors`` (StandardizedError objects)."""
    return [str(e.get("message") or e.get("code") or e) if isinstance(e, dict) else str(e)
            for e in update.get("errors") or []]


@dataclass
class Simulation:
    """A finished simulation as SMAPI returned it, with what the pages need read out.

    Skill Simulation REST API reference, "Get simulation results": ``{"id", "status":
    IN_PROGRESS|SUCCESSFUL|FAILED, "result": {"alexaExecutionInfo": {"alexaResponses":
    [{"type", "content": {"caption"}}], "consideredIntents": [{"name", "confirmationStatus",
    "slots"}]}, "skillExecutionInfo": {"invocations": [{"invocationRequest": {"endpoint",
    "body"}, "invocationResponse": {"body"}, "metrics": {...}}]}, "error": {"message"}}}``.
    """

    id: str
    status: str
    data: dict = field(repr=False)

    @property
    def result(self) -> dict:
        return self.data.get("result") or {}

    @property
    def error(self) -> str:
        return str((self.result.get("error") or {}).get("message") or "")

    @property
    def invocations(self) -> list[dict]:
        return [i for i in (self.result.get("skillExecutionInfo") or {}).get("invocations")
                or [] if isinstance(i, dict)]

    @property
    def _first(self) -> dict:
        """The first invocation with a request: a failed one is followed by the
        SessionEndedRequest Alexa sends about it."""
        return next((i for i in self.invocations
                     if isinstance((i.get("invocationRequest") or {}).get("body"), dict)), {})

    @property
    def request(self) -> dict | None:
        """The request Alexa sent to the skill."""
        return (self._first.get("invocationRequest") or {}).get("body")

    @property
    def endpoint(self) -> str:
        """Where Alexa sent the request (an HTTPS URL or a Lambda ARN)."""
        for invocation in self.invocations:
            uri = (invocation.get("invocationRequest") or {}).get("endpoint")
            if uri:
                return str(uri)
        return ""

    @property
    def response(self) -> dict | None:
        """The skill's answer to ``request``, or None when Alexa got none it could use."""
        body = (self._first.get("invocationResponse") or {}).get("body")
        return body if isinstance(body, dict) else None

    @property
    def intent(self) -> str:
        """The intent Alexa resolved: the one it sent the skill, else the first it considered;
        the request type when there was none (a launch)."""
        request = (self.request or {}).get("request") or {}
        name = (request.get("intent") or {}).get("name")
        if name:
            return str(name)
        alexa = self.result.get("alexaExecutionInfo") or {}
        for considered in alexa.get("consideredIntents") or []:
            if isinstance(considered, dict) and considered.get("name"):
                return str(considered["name"])
        return str(request.get("type") or "")

    @property
    def speech(self) -> str:
        alexa = self.result.get("alexaExecutionInfo") or {}
        captions = [str((r.get("content") or {}).get("caption") or "")
                    for r in alexa.get("alexaResponses") or [] if isinstance(r, dict)]
        return " ".join(c for c in captions if c)


class SmapiClient:
    def __init__(self, tokens: TokenSource, base_url: str = SMAPI_URL, *,
                 verify: bool | str = True, timeout: float = TIMEOUT, retries: int = 4,
                 backoff: float = 1.0, poll_interval: float = 2.0,
                 sleep: Callable[[float], None] = time.sleep):
        self.tokens = tokens
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self.poll_interval = poll_interval
        self.sleep = sleep
        self.http = httpx.Client(verify=verify, timeout=timeout)
        self.writes = 0  # PUT/POST calls that reached SMAPI: a second publish makes none

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> SmapiClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # The transport ----------------------------------------------------------------------

    def request(self, method: str, path: str, *, json: dict | None = None,
                headers: dict | None = None, params: dict | None = None,
                ok: tuple[int, ...] = (200,), busy: tuple[int, ...] = ()) -> httpx.Response:
        """One call; ``busy`` statuses (a 409 "another one is running") are waited out as
        5xx are."""
        token = self.tokens.access_token()
        refreshed = False
        attempt = 0
        while True:
            try:
                # Every SMAPI reference: "Authorization: Bearer <LWA access token>", JSON both
                # ways (httpx sets Content-Type for a JSON body).
                answer = self.http.request(
                    method, self.base_url + path, json=json, params=params,
                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json",
                             **(headers or {})})
            except httpx.TransportError as exc:
                raise Unreachable(f"SMAPI at {self.base_url} is unreachable: "
                                  f"{exc.__class__.__name__}") from None
            if method in ("PUT", "POST") and answer.status_code != 401:
                self.writes += 1
            if answer.status_code in ok:
                return answer
            if answer.status_code == 401 and not refreshed:
                token, refreshed = self.tokens.access_token(stale=token), True
                continue
            again = answer.status_code == 429 or answer.status_code >= 500 or \
                answer.status_code in busy
            if again and attempt < self.retries:
                self.sleep(self._wait(answer, attempt))
                attempt += 1
                continue
            message, code, details = _message(answer)
            raise SmapiError(f"{method} {path}: HTTP {answer.status_code}: {message}",
                             status=answer.status_code, code=code, details=details)

    def _wait(self, answer: httpx.Response, attempt: int) -> float:
        after = answer.headers.get("Retry-After", "")
        if answer.status_code == 429 and after.strip().isdigit():
            return min(float(after), MAX_WAIT)
        return min(self.backoff * 2 ** attempt, MAX_WAIT)

    def _poll(self, read: Callable[[], dict], finished: Callable[[dict], bool], what: str, *,
              timeout: float, first: float, cap: float) -> dict:
        deadline = time.monotonic() + timeout
        wait = min(first, cap)
        while True:
            result = read()
            if finished(result):
                return result
            if time.monotonic() > deadline:
                raise SmapiError(f"{what} did not end within {timeout:.0f} s.")
            self.sleep(wait)
            wait = min(wait * 2, cap)

    # Vendors and skills ---------------------------------------------------------------

    def vendors(self) -> list[dict]:
        """Vendor Management REST API, "Get vendor list": ``{"vendors": [{"id", "name",
        "roles"}]}``."""
        return list(self.request("GET", "/v1/vendors").json().get("vendors") or [])

    def create_skill(self, vendor_id: str, manifest: dict, *, wait: bool = True,
                     timeout: float = 300.0) -> str:
        """Skill Manifest REST API, "Create skill manifest": POST ``{"vendorId", "manifest"}``,
        202 with ``{"skillId"}`` and a Location to the status. The manifest is built after
        the answer (as the ASK CLI does, the status is polled until it is not IN_PROGRESS):
        the skill has no development stage to upload models to before that."""
        answer = self.request("POST", "/v1/skills", ok=(202,),
                              json={"vendorId": vendor_id, **manifest})
        skill_id = str(answer.json()["skillId"])
        if wait:
            self.wait_manifest(skill_id, timeout=timeout)
        return skill_id

    def _skill(self, skill_id: str, rest: str = "") -> str:
        return f"/v1/skills/{quote(skill_id, safe='')}/stages/{STAGE}{rest}"

    def get_manifest(self, skill_id: str) -> tuple[dict, str]:
        """(skill.json's content ``{"manifest": …}``, its ETag header): "Get manifest"."""
        answer = self.request("GET", self._skill(skill_id, "/manifest"))
        return answer.json(), answer.headers.get("ETag", "")

    def update_manifest(self, skill_id: str, manifest: dict, etag: str = "", *,
                        wait: bool = True, timeout: float = 300.0) -> str:
        """Skill Manifest REST API, "Update manifest": PUT with If-Match, 202 with only a
        Location; built like a new one. The new ETag (the status's ``manifest.eTag``) once
        built, or "" when not waited for."""
        self.request("PUT", self._skill(skill_id, "/manifest"), json=manifest,
                     headers={"If-Match": etag} if etag else None, ok=(202,))
        return self.wait_manifest(skill_id, timeout=timeout) if wait else ""

    def wait_manifest(self, skill_id: str, *, timeout: float = 300.0) -> str:
        """Poll ``status?resource=manifest`` until ``manifest.lastUpdateRequest.status`` ends;
        its eTag when SUCCEEDED, else ManifestFailed with Amazon's errors."""
        def update(status: dict) -> dict:
            return (status.get("manifest") or {}).get("lastUpdateRequest") or {}

        status = self._poll(lambda: self.status(skill_id, "manifest"),
                            lambda s: update(s).get("status") not in (IN_PROGRESS, None),
                            "The skill manifest's build", timeout=timeout, first=POLL_FIRST,
                            cap=self.poll_interval)
        if update(status).get("status") != SUCCEEDED:
            raise ManifestFailed(f"Amazon refused the skill manifest of {skill_id} "
                                 f"({update(status).get('status')})",
                                 details=error_messages(update(status)))
        return str((status.get("manifest") or {}).get("eTag") or "")

    def get_model(self, skill_id: str, locale: str) -> tuple[dict | None, str]:
        """Interaction Model REST API, "Get interaction model": (the locale's model, its ETag),
        or (None, "") when the locale has none yet (404)."""
        try:
            answer = self.request("GET", self._skill(
                skill_id, f"/interactionModel/locales/{quote(locale)}"))
        except SmapiError as exc:
            if exc.status == 404:
                return None, ""
            raise
        return answer.json(), answer.headers.get("ETag", "")

    def put_model(self, skill_id: str, locale: str, model: dict, etag: str = "") -> str:
        """"Update interaction model": PUT with If-Match, 202 with a Location to the build's
        status (no ETag: ``status`` has the new one once built)."""
        answer = self.request("PUT", self._skill(
            skill_id, f"/interactionModel/locales/{quote(locale)}"), json=model,
            headers={"If-Match": etag} if etag else None, ok=(202,))
        return answer.headers.get("ETag", "")

    def status(self, skill_id: str, resource: str = "interactionModel") -> dict:
        """Skill Manifest REST API, "Get skill status": ``{"manifest": {"lastUpdateRequest":
        {"status", "errors"}, "eTag"}, "interactionModel": {locale: {"lastUpdateRequest":
        {"status", "errors", "buildDetails"}, "eTag"}}}``, only ``resource``'s part when
        named."""
        return self.request("GET", f"/v1/skills/{quote(skill_id, safe='')}/status",
                            params={"resource": resource} if resource else None).json()

    def model_build(self, skill_id: str, locale: str) -> dict:
        """The locale's last model build (``lastUpdateRequest``), {} when it never had one."""
        models = self.status(skill_id).get("interactionModel") or {}
        return (models.get(locale) or {}).get("lastUpdateRequest") or {}

    def wait_built(self, skill_id: str, locales: list[str], *, timeout: float = 300.0,
                   interval: float = 2.0) -> None:
        """Poll until every locale's last model build ended; BuildFailed with its errors."""
        def builds(status: dict) -> dict[str, dict]:
            models = status.get("interactionModel") or {}
            return {locale: (models.get(locale) or {}).get("lastUpdateRequest") or {}
                    for locale in locales}

        status = self._poll(lambda: self.status(skill_id),
                            lambda s: all(b.get("status") not in (IN_PROGRESS, None)
                                          for b in builds(s).values()),
                            "The model build", timeout=timeout, first=interval, cap=interval)
        failed = {locale: error_messages(build) or ["no message"]
                  for locale, build in builds(status).items()
                  if build.get("status") != SUCCEEDED}
        if failed:
            raise BuildFailed(failed)

    def enabled(self, skill_id: str) -> bool:
        """Skill Enablement REST API, "Get enablement status": 204 when enabled, 404 when
        not."""
        try:
            self.request("GET", self._skill(skill_id, "/enablement"), ok=(200, 204))
        except SmapiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def enable_testing(self, skill_id: str) -> None:
        """"Enable skill": PUT with no body, 204."""
        self.request("PUT", self._skill(skill_id, "/enablement"), ok=(204,))

    # The simulator ------------------------------------------------------------------------

    def simulate(self, skill_id: str, utterance: str, *, locale: str = "en-US",
                 new_session: bool = False, timeout: float = 60.0,
                 interval: float = 1.0) -> Simulation:
        """Say ``utterance`` to the skill through Alexa's simulator; the finished simulation.

        Skill Simulation REST API, "Simulate skill": POST ``{"session": {"mode": DEFAULT|
        FORCE_NEW_SESSION}, "input": {"content"}, "device": {"locale"}}``, 200 with the
        simulation (``id``, ``status``) and its Location; then "Get simulation results"
        until it is not IN_PROGRESS. One simulation at a time per user: the API model answers
        409 while another runs, which is waited out."""
        base = f"/v2/skills/{quote(skill_id, safe='')}/stages/{STAGE}/simulations"
        body = {"session": {"mode": "FORCE_NEW_SESSION" if new_session else "DEFAULT"},
                "input": {"content": utterance}, "device": {"locale": locale}}
        data = self.request("POST", base, json=body, busy=(409,)).json()
        if data.get("status") == IN_PROGRESS:
            url = f"{base}/{quote(str(data['id']), safe='')}"
            data = self._poll(lambda: self.request("GET", url).json(),
                              lambda d: d.get("status") != IN_PROGRESS, "The simulation",
                              timeout=timeout, first=interval, cap=interval)
        return Simulation(str(data.get("id")), str(data.get("status")), data)
