"""Login with Amazon's authorization-code grant, as SMAPI asks for it.

The operator's browser goes to ``authorize_url`` (Amazon's sign-in page) with a random
``state``; Amazon sends it back to the redirect URI with ``code`` and that ``state``, which
must match (``check_state``) or the answer is someone else's. The code is exchanged once at
``<LWA_URL>/auth/o2/token`` for an hour's access token and a long-lived refresh token.
:class:`TokenSource` renews the access token shortly before it expires, and once when SMAPI
answers 401 (a token revoked early).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from .errors import LinkError, Unreachable

SCOPES = "alexa::ask:skills:readwrite alexa::ask:models:readwrite alexa::ask:skills:test"
LWA_URL = "https://api.amazon.com"
AUTHORIZE_URL = "https://www.amazon.com/ap/oa"
TOKEN_PATH = "/auth/o2/token"  # noqa: S105 (a URL path)
REFRESH_MARGIN = 120.0  # seconds before expiry when the access token is renewed
TIMEOUT = 15.0


def new_state() -> str:
    return secrets.token_urlsafe(24)


def authorize_url(client_id: str, redirect_uri: str, state: str, *,
                  base: str = AUTHORIZE_URL, scopes: str = SCOPES) -> str:
    """LWA's authorization-code grant, "authorization request" (the scopes SMAPI's "Get an
    access token" page names); Amazon answers on ``redirect_uri`` with ``code`` and ``state``,
    or ``error``."""
    query = urlencode({"client_id": client_id, "scope": scopes, "response_type": "code",
                       "redirect_uri": redirect_uri, "state": state})
    return f"{base}?{query}"


def check_state(expected: str | None, received: str | None) -> None:
    """The callback's state must be the one this sign-in sent (CSRF on the callback)."""
    if not expected or not received or not hmac.compare_digest(expected, received):
        raise LinkError("The sign-in answer does not belong to a sign-in started here (its "
                        "state does not match); start again from the Alexa account page.")


@dataclass
class Grant:
    access_token: str
    refresh_token: str
    expires_at: float


class LWAClient:
    def __init__(self, client_id: str, client_secret: str, *, base_url: str = LWA_URL,
                 verify: bool | str = True, timeout: float = TIMEOUT):
        self.client_id = client_id
        self.client_secret = client_secret
        self.base_url = base_url.rstrip("/")
        self.verify = verify
        self.timeout = timeout

    def _token(self, form: dict, what: str) -> Grant:
        """LWA "access token request" (form-encoded, client credentials in the body) and its
        JSON: ``{"access_token", "refresh_token", "token_type", "expires_in"}``, or ``{"error",
        "error_description"}`` (``invalid_grant`` for a used, expired or foreign code)."""
        form = {**form, "client_id": self.client_id, "client_secret": self.client_secret}
        try:
            with httpx.Client(verify=self.verify, timeout=self.timeout) as http:
                answer = http.post(self.base_url + TOKEN_PATH, data=form)
        except httpx.TransportError as exc:
            raise Unreachable(f"Login with Amazon at {self.base_url} is unreachable: "
                              f"{exc.__class__.__name__}") from None
        try:
            data = answer.json()
        except ValueError:
            data = {}
        if answer.status_code != 200 or not isinstance(data, dict) or \
                "access_token" not in data:
            error = str(data.get("error") or "") if isinstance(data, dict) else ""
            description = str(data.get("error_description") or "") \
                if isinstance(data, dict) else ""
            said = " ".join(part for part in (error, description) if part)
            raise LinkError(f"Login with Amazon refused {what} (HTTP {answer.status_code}"
                            f"{': ' + said if said else ''})", status=answer.status_code,
                            code=error)
        return Grant(str(data["access_token"]), str(data.get("refresh_token") or ""),
                     time.time() + float(data.get("expires_in", 3600)))

    def exchange_code(self, code: str, redirect_uri: str) -> Grant:
        grant = self._token({"grant_type": "authorization_code", "code": code,
                             "redirect_uri": redirect_uri}, "the sign-in code")
        if not grant.refresh_token:
            raise LinkError("Login with Amazon gave no refresh token.")
        return grant

    def refresh(self, refresh_token: str) -> Grant:
        grant = self._token({"grant_type": "refresh_token", "refresh_token": refresh_token},
                            "to refresh the access token; link the account again")
        grant.refresh_token = grant.refresh_token or refresh_token
        return grant


class TokenSource:
    """The current access token for one linked account (thread-safe).

    ``on_refresh(grant)`` is called after each refresh, so a caller can keep a rotated refresh
    token; the access token itself is kept in memory only.
    """

    def __init__(self, lwa: LWAClient, refresh_token: str, *, margin: float = REFRESH_MARGIN,
                 on_refresh: Callable[[Grant], None] | None = None,
                 grant: Grant | None = None):
        self.lwa = lwa
        self.refresh_token = refresh_token
        self.margin = margin
        self.on_refresh = on_refresh
        self._grant = grant
        self._lock = threading.Lock()
        self.refreshes = 0

    def access_token(self, *, stale: str = "") -> str:
        """A valid access token; ``stale`` names one SMAPI refused, which forces a refresh
        unless another thread already replaced it."""
        with self._lock:
            grant = self._grant
            fresh = grant is not None and grant.expires_at - self.margin > time.time()
            if fresh and (not stale or grant.access_token != stale):
                return grant.access_token
            if not self.refresh_token:
                raise LinkError("No Amazon developer account is linked.")
            grant = self.lwa.refresh(self.refresh_token)
            self._grant, self.refresh_token = grant, grant.refresh_token
            self.refreshes += 1
            if self.on_refresh:
                self.on_refresh(grant)
            return grant.access_token
