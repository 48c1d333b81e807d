"""A developer account linked to the strict fake SMAPI + LWA (``skills.smapi.testing.FakeSMAPI``)
the way an operator links one, and a skill created in it, all through the real clients.

The sign-in is followed as the operator's browser would (the authorize URL, Amazon's redirect
back with a code and the state sent); the code is exchanged by the real ``LWAClient``, and every
SMAPI call after that goes through the real ``SmapiClient`` with its access token.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from skills.smapi import LWAClient, SmapiClient, TokenSource, lwa
from skills.smapi.testing import CLIENT_ID, CLIENT_SECRET, VENDOR, FakeSMAPI

REDIRECT = "https://admin.example.org/alexa/callback/"


def sign_in(fake: FakeSMAPI, redirect: str = REDIRECT) -> str:
    """The code Amazon hands back to ``redirect`` once the operator signed in."""
    state = lwa.new_state()
    answer = httpx.get(lwa.authorize_url(CLIENT_ID, redirect, state, base=fake.authorize_url))
    assert answer.status_code == 302, answer.text
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    lwa.check_state(state, query["state"][0])
    return query["code"][0]


def linked_client(fake: FakeSMAPI) -> SmapiClient:
    """A SMAPI client of a freshly linked account (close it, or use it in a ``with``)."""
    client = LWAClient(CLIENT_ID, CLIENT_SECRET, base_url=fake.url)
    grant = client.exchange_code(sign_in(fake), REDIRECT)
    tokens = TokenSource(client, grant.refresh_token, grant=grant)
    return SmapiClient(tokens, fake.url, sleep=lambda seconds: None)


def create_skill(smapi: SmapiClient, endpoint: dict, name: str = "Memory Game") -> str:
    """A skill in the linked account whose endpoint is ``endpoint``; its skill ID."""
    manifest = {"manifest": {
        "manifestVersion": "1.0",
        "publishingInformation": {"locales": {"en-US": {"name": name}}},
        "apis": {"custom": {"endpoint": endpoint}}}}
    return smapi.create_skill(VENDOR["id"], manifest)


def endpoint(smapi: SmapiClient, skill_id: str) -> dict:
    """The skill's custom endpoint as SMAPI has it now."""
    manifest, _ = smapi.get_manifest(skill_id)
    return manifest["manifest"]["apis"]["custom"]["endpoint"]


def manifest_updates(fake: FakeSMAPI, skill_id: str) -> int:
    """How many manifest updates of ``skill_id`` reached the fake."""
    return sum(1 for method, path in fake.writes()
               if method == "PUT" and path.endswith("/manifest") and skill_id in path)


def link_admin(fake: FakeSMAPI):
    """The admin's Alexa account linked to ``fake`` by the admin's own code (its redirect URI,
    ``complete_link``); settings ASK_SMAPI_URL and LWA_URL must point at ``fake`` already."""
    from appliance.catalogue.models import AlexaAccount
    from appliance.console import alexa

    account = AlexaAccount.load()
    account.client_id, account.client_secret = CLIENT_ID, CLIENT_SECRET
    account.save()
    return alexa.complete_link(account, sign_in(fake, alexa.redirect_uri()), "alice")
