"""A small client for the Alexa Skill Management API (SMAPI), development stage only.

Every call carries a Login with Amazon access token (refreshed once when SMAPI answers 401).
Throttling (429, after its Retry-After) and server errors (5xx, with doubling waits) are tried
again a few times; any other 4xx raises :class:`SmapiError` with Amazon's own message. The
manifest and each locale's model carry ETags: updates send If-Match, so a concurrent change
elsewhere is refused (412) instead of overwritten.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx

from .errors import BuildFailed, SmapiError, Unreachable
from .lwa import TokenSource

SMAPI_URL = "https://api.amazonalexa.com"
STAGE = "development"
TIMEOUT = 30.0
MAX_WAIT = 60.0  # the longest Retry-After honoured
IN_PROGRESS = "IN_PROGRESS"


def _message(answer: httpx.Response) -> tuple[str, str, list[str]]:
    """(message, code, details) from SMAPI's error bodies (``message`` + ``violations``, or an
    ``error`` object)."""
    try:
        data = answer.json()
    except ValueError:
        return answer.text[:300] or answer.reason_phrase, "", []
    if not isinstance(data, dict):
        return answer.reason_phrase, "", []
    error = data.get("error") if isinstance(data.get("error"), dict) else {}
    message = str(data.get("message") or error.get("message") or answer.reason_phrase)
    details = [str(v.get("message")) for v in data.get("violations") or []
               if isinstance(v, dict) and v.get("message")]
    return message, str(error.get("code") or data.get("code") or ""), details


@dataclass
class Simulation:
    """A finished simulation as SMAPI returned it, with what the pages need read out."""

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
        return list((self.result.get("skillExecutionInfo") or {}).get("invocations") or [])

    @property
    def request(self) -> dict | None:
        """The request Alexa sent to the skill (the last, when there were several)."""
        for invocation in reversed(self.invocations):
            body = (invocation.get("invocationRequest") or {}).get("body")
            if isinstance(body, dict):
                return body
        return None

    @property
    def response(self) -> dict | None:
        for invocation in reversed(self.invocations):
            body = (invocation.get("invocationResponse") or {}).get("body")
            if isinstance(body, dict):
                return body
        return None

    @property
    def intent(self) -> str:
        """The intent Alexa resolved, or the request type when there was none (a launch)."""
        alexa = self.result.get("alexaExecutionInfo") or {}
        for considered in alexa.get("consideredIntents") or []:
            if isinstance(considered, dict) and considered.get("name"):
                return str(considered["name"])
        request = (self.request or {}).get("request") or {}
        return str((request.get("intent") or {}).get("name") or request.get("type") or "")

    @property
    def speech(self) -> str:
        alexa = self.result.get("alexaExecutionInfo") or {}
        captions = [str((r.get("content") or {}).get("caption") or "")
                    for r in alexa.get("alexaResponses") or [] if isinstance(r, dict)]
        return " ".join(c for c in captions if c)


class SmapiClient:
    def __init__(self, tokens: TokenSource, base_url: str = SMAPI_URL, *,
                 verify: bool | str = True, timeout: float = TIMEOUT, retries: int = 4,
                 backoff: float = 1.0, sleep: Callable[[float], None] = time.sleep):
        self.tokens = tokens
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
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
                ok: tuple[int, ...] = (200,)) -> httpx.Response:
        token = self.tokens.access_token()
        refreshed = False
        attempt = 0
        while True:
            try:
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
            if (answer.status_code == 429 or answer.status_code >= 500) and \
                    attempt < self.retries:
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

    # Vendors and skills ---------------------------------------------------------------

    def vendors(self) -> list[dict]:
        return list(self.request("GET", "/v1/vendors").json().get("vendors") or [])

    def create_skill(self, vendor_id: str, manifest: dict) -> str:
        answer = self.request("POST", "/v1/skills", ok=(202,),
                              json={"vendorId": vendor_id, **manifest})
        return str(answer.json()["skillId"])

    def _skill(self, skill_id: str, rest: str = "") -> str:
        return f"/v1/skills/{quote(skill_id, safe='')}/stages/{STAGE}{rest}"

    def get_manifest(self, skill_id: str) -> tuple[dict, str]:
        """(skill.json's content, its ETag)."""
        answer = self.request("GET", self._skill(skill_id, "/manifest"))
        return answer.json(), answer.headers.get("ETag", "")

    def update_manifest(self, skill_id: str, manifest: dict, etag: str = "") -> str:
        answer = self.request("PUT", self._skill(skill_id, "/manifest"), json=manifest,
                              headers={"If-Match": etag} if etag else None, ok=(202,))
        return answer.headers.get("ETag", "")

    def get_model(self, skill_id: str, locale: str) -> tuple[dict | None, str]:
        """(the locale's model, its ETag), or (None, "") when the locale has none yet."""
        try:
            answer = self.request("GET", self._skill(
                skill_id, f"/interactionModel/locales/{quote(locale)}"))
        except SmapiError as exc:
            if exc.status == 404:
                return None, ""
            raise
        return answer.json(), answer.headers.get("ETag", "")

    def put_model(self, skill_id: str, locale: str, model: dict, etag: str = "") -> str:
        answer = self.request("PUT", self._skill(
            skill_id, f"/interactionModel/locales/{quote(locale)}"), json=model,
            headers={"If-Match": etag} if etag else None, ok=(202,))
        return answer.headers.get("ETag", "")

    def status(self, skill_id: str, resource: str = "interactionModel") -> dict:
        return self.request("GET", f"/v1/skills/{quote(skill_id, safe='')}/status",
                            params={"resource": resource}).json()

    def wait_built(self, skill_id: str, locales: list[str], *, timeout: float = 300.0,
                   interval: float = 2.0) -> None:
        """Poll until every locale's last model build ended; BuildFailed with its errors."""
        deadline = time.monotonic() + timeout
        while True:
            models = self.status(skill_id).get("interactionModel") or {}
            builds = {locale: (models.get(locale) or {}).get("lastUpdateRequest") or {}
                      for locale in locales}
            if all(build.get("status") not in (IN_PROGRESS, None) for build in builds.values()):
                break
            if time.monotonic() > deadline:
                raise SmapiError(f"The model build did not end within {timeout:.0f} s.")
            self.sleep(interval)
        failed = {locale: [str(e.get("message") or e) for e in build.get("errors") or []]
                  or ["no message"] for locale, build in builds.items()
                  if build.get("status") != "SUCCEEDED"}
        if failed:
            raise BuildFailed(failed)

    def enabled(self, skill_id: str) -> bool:
        try:
            self.request("GET", self._skill(skill_id, "/enablement"), ok=(200, 204))
        except SmapiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def enable_testing(self, skill_id: str) -> None:
        self.request("PUT", self._skill(skill_id, "/enablement"), ok=(204,))

    # The simulator ------------------------------------------------------------------------

    def simulate(self, skill_id: str, utterance: str, *, locale: str = "en-US",
                 new_session: bool = False, timeout: float = 60.0,
                 interval: float = 1.0) -> Simulation:
        """Say ``utterance`` to the skill through Alexa's simulator; the finished simulation."""
        base = f"/v2/skills/{quote(skill_id, safe='')}/stages/{STAGE}/simulations"
        body = {"session": {"mode": "FORCE_NEW_SESSION" if new_session else "DEFAULT"},
                "input": {"content": utterance}, "device": {"locale": locale}}
        data = self.request("POST", base, json=body).json()
        deadline = time.monotonic() + timeout
        while data.get("status") == IN_PROGRESS:
            if time.monotonic() > deadline:
                raise SmapiError(f"The simulation did not end within {timeout:.0f} s.")
            self.sleep(interval)
            data = self.request("GET", f"{base}/{quote(str(data['id']), safe='')}").json()
        return Simulation(str(data.get("id")), str(data.get("status")), data)
