"""The SMAPI client and its Login with Amazon grant against the strict fake (no skill needed)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from skills.runtime.testing.process import free_port
from skills.smapi import (
    BuildFailed,
    LinkError,
    LWAClient,
    SmapiClient,
    SmapiError,
    TokenSource,
    lwa,
)
from skills.smapi.testing import CLIENT_ID, CLIENT_SECRET, FakeSMAPI

REDIRECT = "https://admin.example.org/alexa/callback/"
MODEL = json.loads((Path(__file__).parents[2] / "skills/memory_game/skill-package/"
                    "interactionModels/custom/en-US.json").read_text())
NOWHERE = f"https://127.0.0.1:{free_port()}/"  # nothing listens there
MANIFEST = {"manifest": {"manifestVersion": "1.0", "apis": {"custom": {"endpoint": {
    "uri": NOWHERE, "sslCertificateType": "Trusted"}}},
    "publishingInformation": {"locales": {"en-US": {"name": "Memory Game"}}}}}


@pytest.fixture
def fake():
    with FakeSMAPI(build_polls=2) as server:
        yield server


def sign_in(fake: FakeSMAPI, scopes: str = lwa.SCOPES) -> tuple[str, str]:
    """Follow the authorize URL as the operator's browser would: (code, state) from Amazon."""
    state = lwa.new_state()
    url = lwa.authorize_url(CLIENT_ID, REDIRECT, state, base=fake.authorize_url, scopes=scopes)
    answer = httpx.get(url)
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    lwa.check_state(state, query["state"][0])
    return query["code"][0], state


def linked(fake, scopes=lwa.SCOPES, sleeps=None) -> SmapiClient:
    code, _ = sign_in(fake, scopes)
    client = LWAClient(CLIENT_ID, CLIENT_SECRET, base_url=fake.url)
    grant = client.exchange_code(code, REDIRECT)
    tokens = TokenSource(client, grant.refresh_token, grant=grant)
    return SmapiClient(tokens, fake.url,
                       sleep=sleeps.append if sleeps is not None else (lambda s: None))


def test_a_callback_with_another_state_is_refused():
    with pytest.raises(LinkError, match="state does not match"):
        lwa.check_state("the-one-we-sent", "someone-elses")
    with pytest.raises(LinkError):
        lwa.check_state("the-one-we-sent", None)


def test_a_code_is_exchanged_once_and_only_for_its_redirect_uri(fake):
    code, _ = sign_in(fake)
    client = LWAClient(CLIENT_ID, CLIENT_SECRET, base_url=fake.url)
    with pytest.raises(LinkError, match="invalid_grant"):
        client.exchange_code(code, "https://elsewhere.example.org/")
    code, _ = sign_in(fake)
    assert client.exchange_code(code, REDIRECT).refresh_token.startswith("Atzr|")
    with pytest.raises(LinkError, match="invalid_grant"):
        client.exchange_code(code, REDIRECT)


def test_vendors_are_read_with_the_linked_token(fake):
    assert linked(fake).vendors()[0]["id"] == "M1FAKEVENDOR"


def test_a_revoked_access_token_is_refreshed_once_on_401(fake):
    smapi = linked(fake)
    smapi.vendors()
    fake.expire_access_tokens()
    assert smapi.vendors()  # refused once, refreshed, asked again
    assert smapi.tokens.refreshes == 1


def test_a_token_without_the_models_scope_is_refused_with_403(fake):
    smapi = linked(fake, scopes="alexa::ask:skills:readwrite")
    skill_id = smapi.create_skill("M1FAKEVENDOR", MANIFEST)
    with pytest.raises(SmapiError) as refused:
        smapi.put_model(skill_id, "en-US", MODEL)
    assert refused.value.status == 403
    assert "alexa::ask:models:readwrite" in str(refused.value)


def test_an_update_with_a_stale_etag_is_refused(fake):
    smapi = linked(fake)
    skill_id = smapi.create_skill("M1FAKEVENDOR", MANIFEST)
    _, etag = smapi.get_manifest(skill_id)
    changed = copy.deepcopy(MANIFEST)
    changed["manifest"]["publishingInformation"]["locales"]["en-US"]["name"] = "Other"
    smapi.update_manifest(skill_id, changed, etag)
    with pytest.raises(SmapiError) as refused:
        smapi.update_manifest(skill_id, MANIFEST, etag)
    assert refused.value.status == 412


def test_a_model_build_is_waited_for_until_it_succeeds(fake):
    sleeps = []
    smapi = linked(fake, sleeps=sleeps)
    skill_id = smapi.create_skill("M1FAKEVENDOR", MANIFEST)
    smapi.put_model(skill_id, "en-US", MODEL)
    smapi.wait_built(skill_id, ["en-US"], interval=0.01)
    assert sleeps == [0.01, 0.01]  # two polls IN_PROGRESS, then SUCCEEDED


def test_a_failed_build_carries_amazons_messages(fake):
    smapi = linked(fake)
    skill_id = smapi.create_skill("M1FAKEVENDOR", MANIFEST)
    broken = copy.deepcopy(MODEL)
    broken["interactionModel"]["languageModel"]["intents"][-1]["samples"].append(
        "{fourth} please")
    smapi.put_model(skill_id, "en-US", broken)
    with pytest.raises(BuildFailed) as failed:
        smapi.wait_built(skill_id, ["en-US"], interval=0)
    assert any('"{fourth} please"' in message for message in failed.value.errors["en-US"])


def test_a_4xx_raises_with_amazons_message(fake):
    smapi = linked(fake)
    with pytest.raises(SmapiError) as refused:
        smapi.create_skill("SOMEONE-ELSES-VENDOR", MANIFEST)
    assert refused.value.status == 403
    assert "not a member of this vendor" in str(refused.value)


def test_throttling_is_retried_after_retry_after(fake):
    sleeps = []
    smapi = linked(fake, sleeps=sleeps)
    skill_id = smapi.create_skill("M1FAKEVENDOR", MANIFEST)
    smapi.put_model(skill_id, "en-US", MODEL)
    smapi.wait_built(skill_id, ["en-US"], interval=0)
    smapi.enable_testing(skill_id)
    fake.busy = True  # a simulation of the same user is running
    calls = []

    def finish_it(seconds):
        calls.append(seconds)
        fake.busy = False

    smapi.sleep = finish_it
    result = smapi.simulate(skill_id, "open memory game", new_session=True, interval=0.05)
    assert calls[0] == 1.0  # the fake's Retry-After, then the POST went through
    # Nothing listens at the manifest's endpoint: the simulation itself says so.
    assert result.status == "FAILED"
    assert NOWHERE in result.error


def test_server_errors_are_retried_with_growing_waits(monkeypatch, fake):
    sleeps = []
    smapi = linked(fake, sleeps=sleeps)
    answers = iter([503, 502, 200])
    original = fake.route

    def flaky(method, path, *args):
        if path == "/v1/vendors":
            status = next(answers)
            if status != 200:
                return status, {"message": "Service unavailable"}, {}
        return original(method, path, *args)

    monkeypatch.setattr(fake, "route", flaky)
    assert smapi.vendors()
    assert sleeps == [1.0, 2.0]
