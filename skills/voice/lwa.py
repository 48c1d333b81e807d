"""Login with Amazon for a headless device: code-based linking, then the refresh-token grant.

Linking: POST ``/auth/O2/create/codepair`` (``scope=alexa:all``, ``scope_data`` naming the
product ID and serial number) gives a user code and a URL; the user enters the code there while
the device polls ``/auth/o2/token`` with ``grant_type=device_code`` every ``interval`` seconds
(longer after ``slow_down``) until approval or expiry. The access token lasts an hour;
:class:`Tokens` refreshes it shortly before it expires, and once more when AVS answers 403.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from .errors import LoginError, LoginExpired, RelinkRequired, Unreachable
from .store import Device, TokenStore

log = logging.getLogger("skills.voice.lwa")

CODEPAIR = "/auth/O2/create/codepair"
TOKEN_PATH = "/auth/o2/token"  # noqa: S105 (a URL path, not a secret)
REFRESH_MARGIN = 120.0  # seconds before expiry when the access token is renewed
SLOW_DOWN_STEP = 5.0  # RFC 8628: each slow_down adds five seconds to the interval
TIMEOUT = 15.0


@dataclass
class CodePair:
    user_code: str
    device_code: str
    verification_uri: str
    expires_in: float
    interval: float


def _error_of(response: httpx.Response) -> tuple[str, str]:
    try:
        data = response.json()
    except ValueError:
        return "", response.text[:200]
    if not isinstance(data, dict):
        return "", ""
    return str(data.get("error") or ""), str(data.get("error_description") or "")


class LWA:
    """The two LWA endpoints, over plain HTTPS (``verify`` may name a test CA)."""

    def __init__(self, base_url: str, client_id: str, client_secret: str = "",
                 verify: bool | str = True, timeout: float = TIMEOUT):
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.verify = verify
        self.timeout = timeout

    async def _post(self, path: str, form: dict) -> httpx.Response:
        # A CA file as a context: httpx deprecates verify=<path>.
        verify = (ssl.create_default_context(cafile=self.verify)
                  if isinstance(self.verify, str) else self.verify)
        try:
            async with httpx.AsyncClient(verify=verify, timeout=self.timeout) as http:
                return await http.post(self.base_url + path, data=form)
        except httpx.TransportError as exc:
            raise Unreachable(f"Login with Amazon at {self.base_url} is unreachable: "
                              f"{exc.__class__.__name__}") from None

    async def codepair(self, product_id: str, serial_number: str) -> CodePair:
        scope_data = {"alexa:all": {"productID": product_id,
                                    "productInstanceAttributes":
                                        {"deviceSerialNumber": serial_number}}}
        response = await self._post(CODEPAIR, {
            "response_type": "device_code", "client_id": self.client_id,
            "scope": "alexa:all", "scope_data": json.dumps(scope_data)})
        if response.status_code != 200:
            error, description = _error_of(response)
            raise LoginError(f"Login with Amazon refused the code request (HTTP "
                             f"{response.status_code} {error}: {description}); check the "
                             "client ID, product ID and that code-based linking is enabled")
        data = response.json()
        return CodePair(str(data["user_code"]), str(data["device_code"]),
                        str(data["verification_uri"]), float(data.get("expires_in", 600)),
                        float(data.get("interval", 5)))

    async def wait_for_approval(self, pair: CodePair, *, slow_down_step: float = SLOW_DOWN_STEP,
                                on_poll: Callable[[float], None] | None = None) -> dict:
        """Poll until the user approves; the token answer. LoginExpired past ``expires_in``."""
        deadline = time.monotonic() + pair.expires_in
        interval = pair.interval
        while True:
            await asyncio.sleep(interval)
            if on_poll:
                on_poll(max(0.0, deadline - time.monotonic()))
            response = await self._post(TOKEN_PATH, {
                "grant_type": "device_code", "device_code": pair.device_code,
                "user_code": pair.user_code, "client_id": self.client_id})
            if response.status_code == 200:
                return response.json()
            error, description = _error_of(response)
            if error == "authorization_pending":
                pass
            elif error == "slow_down":
                interval += slow_down_step
                log.info("LWA asked to poll more slowly: every %.1f s now", interval)
            elif error in ("expired_token", "invalid_code_pair"):
                raise LoginExpired(f"the code {pair.user_code} expired before it was entered; "
                                   "run the login again for a new one")
            elif error == "access_denied":
                raise LoginError("the link was refused on the Amazon page")
            else:
                raise LoginError(f"Login with Amazon answered HTTP {response.status_code} "
                                 f"({error or 'no error code'}: {description})")
            if time.monotonic() + interval > deadline:
                raise LoginExpired(f"the code {pair.user_code} expired before it was entered; "
                                   "run the login again for a new one")

    async def refresh(self, refresh_token: str) -> dict:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token,
                "client_id": self.client_id}
        if self.client_secret:
            form["client_secret"] = self.client_secret
        response = await self._post(TOKEN_PATH, form)
        if response.status_code == 200:
            return response.json()
        error, _ = _error_of(response)
        if error in ("invalid_grant", "unauthorized_client", "invalid_client"):
            raise RelinkRequired(error)
        raise LoginError(f"Login with Amazon could not refresh the access token (HTTP "
                         f"{response.status_code} {error})")


def apply_tokens(device: Device, answer: dict) -> Device:
    device.access_token = str(answer["access_token"])
    device.refresh_token = str(answer.get("refresh_token") or device.refresh_token)
    device.expires_at = time.time() + float(answer.get("expires_in", 3600))
    return device


async def login(device: Device, store: TokenStore, *, verify: bool | str = True,
                show: Callable[[CodePair], None] = print,
                on_poll: Callable[[float], None] | None = None,
                slow_down_step: float = SLOW_DOWN_STEP) -> Device:
    """Link ``device`` to an Amazon account and save it (with its tokens) in ``store``."""
    lwa = LWA(device.lwa, device.client_id, device.client_secret, verify=verify)
    pair = await lwa.codepair(device.product_id, device.serial_number)
    show(pair)
    answer = await lwa.wait_for_approval(pair, slow_down_step=slow_down_step, on_poll=on_poll)
    apply_tokens(device, answer)
    store.save(device)
    log.info("device %s of product %s linked", device.serial_number, device.product_id)
    return device


class Tokens:
    """The current access token of a linked device, refreshed before it expires."""

    def __init__(self, store: TokenStore, device: Device | None = None, *,
                 verify: bool | str = True, margin: float = REFRESH_MARGIN):
        self.store = store
        self.device = device or store.load()
        self.margin = margin
        self.lwa = LWA(self.device.lwa, self.device.client_id, self.device.client_secret,
                       verify=verify)
        self._lock = asyncio.Lock()
        self.refreshes = 0

    async def access_token(self, *, force: bool = False, stale: str = "") -> str:
        """A valid access token. ``force`` renews it; ``stale`` names the token AVS refused,
        so that several requests refused at once cause one refresh, not one each."""
        async with self._lock:
            device = self.device
            if stale and device.access_token != stale:
                return device.access_token
            if force or not device.access_valid(self.margin):
                if not device.refresh_token:
                    raise RelinkRequired("no refresh token stored")
                apply_tokens(device, await self.lwa.refresh(device.refresh_token))
                self.refreshes += 1
                self.store.save(device)
                log.info("access token refreshed; valid for %.0f s",
                         device.expires_at - time.time())
            return device.access_token
