"""The SMAPI client and its Login with Amazon grant against the strict fake (no skill needed)."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from skills.dialog.session import PROBLEM
from skills.runtime.testing.process import free_port
from skills.smapi import (
    BuildFailed,
    Grant,
    LinkError,
    LWAClient,
    ManifestFailed,
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
VENDOR = "M1FAKEVENDOR"


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


def ready(smapi: SmapiClient) -> str:
    """A skill created, its model built and testing enabled."""
    skill_id = smapi.create_skill(VENDOR, MANIFEST)
    smapi.put_model(skill_id, "en-US", MODEL)
    smapi.wait_built(skill_id, ["en-US"], interval=0)
    smapi.enable_testing(skill_id)
    return skill_id


def statuses(fake, path: str) -> list[int]:
    return [status for _, called, status in fake.answers if called == path]


# Login with Amazon ----------------------------------------------------------------------------

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


def test_an_access_token_about_to_expire_is_refreshed_before_it_is_used(fake):
    smapi = linked(fake)
    old = smapi.tokens._grant.access_token
    # Still valid for a minute: inside the refresh margin, so not sent again.
    smapi.tokens._grant = Grant(old, smapi.tokens.refresh_token, time.time() + 60)
    assert smapi.vendors()
    assert smapi.tokens.refreshes == 1
    assert smapi.tokens._grant.access_token != old
    assert 401 not in statuses(fake, "/v1/vendors")  # refreshed before, not after a refusal


def test_a_fresh_access_token_is_kept(fake):
    smapi = linked(fake)
    for _ in range(3):
        smapi.vendors()
    assert smapi.tokens.refreshes == 0


def test_a_revoked_access_token_is_refreshed_once_on_401(fake):
    smapi = linked(fake)
    smapi.vendors()
    fake.expire_access_tokens()
    assert smapi.vendors()  # refused once, refreshed, asked again
    assert smapi.tokens.refreshes == 1
    assert statuses(fake, "/v1/vendors") == [200, 401, 200]


def test_a_second_401_after_the_refresh_is_an_error_not_a_loop(monkeypatch, fake):
    smapi = linked(fake)
    monkeypatch.setattr(fake, "_check_token", lambda *args: (
        401, {"message": "Token is invalid/expired"}, {}))
    with pytest.raises(SmapiError) as refused:
        smapi.vendors()
    assert refused.value.status == 401
    assert smapi.tokens.refreshes == 1
    assert statuses(fake, "/v1/vendors") == [401, 401]


def test_a_revoked_refresh_token_asks_to_link_again(fake):
    smapi = linked(fake)
    fake.refresh_tokens.clear()
    fake.expire_access_tokens()
    with pytest.raises(LinkError, match="link the account again"):
        smapi.vendors()


# Vendors and skills ---------------------------------------------------------------------------

def test_vendors_are_read_with_the_linked_token(fake):
    assert linked(fake).vendors()[0]["id"] == VENDOR


def test_a_new_skill_is_waited_for_until_its_manifest_is_built():
    with FakeSMAPI(manifest_polls=2) as fake:
        sleeps = []
        smapi = linked(fake, sleeps=sleeps)
        skill_id = smapi.create_skill(VENDOR, MANIFEST)
        status = f"/v1/skills/{skill_id}/status"
        assert [call for call in fake.calls if call[1] == status] == [("GET", status)] * 3
        assert sleeps == [0.25, 0.5]  # the waits grow, as the ASK CLI's do
        smapi.put_model(skill_id, "en-US", MODEL)  # the stage exists now


def test_a_new_skill_has_no_stage_to_upload_a_model_to_before_its_manifest_is_built(fake):
    smapi = linked(fake)
    skill_id = smapi.create_skill(VENDOR, MANIFEST, wait=False)
    with pytest.raises(SmapiError) as refused:
        smapi.put_model(skill_id, "en-US", MODEL)
    assert refused.value.status == 404
    smapi.wait_manifest(skill_id)
    smapi.put_model(skill_id, "en-US", MODEL)


def test_an_updated_manifest_is_waited_for_and_gives_the_new_etag(fake):
    smapi = linked(fake)
    skill_id = smapi.create_skill(VENDOR, MANIFEST)
    _, etag = smapi.get_manifest(skill_id)
    changed = copy.deepcopy(MANIFEST)
    changed["manifest"]["publishingInformation"]["locales"]["en-US"]["name"] = "Other"
    new_etag = smapi.update_manifest(skill_id, changed, etag)
    assert new_etag and new_etag != etag
    assert smapi.get_manifest(skill_id) == (changed, new_etag)


def test_a_second_manifest_update_while_one_builds_is_refused_with_409(fake):
    smapi = linked(fake)
    skill_id = smapi.create_skill(VENDOR, MANIFEST)
    smapi.update_manifest(skill_id, MANIFEST, wait=False)
    with pytest.raises(SmapiError) as refused:
        smapi.update_manifest(skill_id, MANIFEST)
    assert refused.value.status == 409


def test_a_manifest_the_build_refuses_raises_with_amazons_errors(fake):
    smapi = linked(fake)
    broken = copy.deepcopy(MANIFEST)
    broken["manifest"]["apis"]["custom"]["endpoint"]["sslCertificateType"] = "Homemade"
    with pytest.raises(ManifestFailed) as refused:
        smapi.create_skill(VENDOR, broken)
    assert '"Homemade"' in str(refused.value)


def test_a_token_without_the_models_scope_is_refused_with_403(fake):
    smapi = linked(fake, scopes="alexa::ask:skills:readwrite")
    skill_id = smapi.create_skill(VENDOR, MANIFEST)
    with pytest.raises(SmapiError) as refused:
        smapi.put_model(skill_id, "en-US", MODEL)
    assert refused.value.status == 403
    assert "alexa::ask:models:readwrite" in str(refused.value)


def test_an_update_with_a_stale_etag_is_refused(fake):
    smapi = linked(fake)
    skill_id = smapi.create_skill(VENDOR, MANIFEST)
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
    skill_id = smapi.create_skill(VENDOR, MANIFEST)
    smapi.put_model(skill_id, "en-US", MODEL)
    del sleeps[:]
    smapi.wait_built(skill_id, ["en-US"], interval=0.01)
    assert sleeps == [0.01, 0.01]  # two polls IN_PROGRESS, then SUCCEEDED
    assert smapi.model_build(skill_id, "en-US")["status"] == "SUCCEEDED"


def test_a_failed_build_carries_amazons_messages(fake):
    smapi = linked(fake)
    skill_id = smapi.create_skill(VENDOR, MANIFEST)
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


def test_a_400_carries_its_violations(fake):
    smapi = linked(fake)
    with pytest.raises(SmapiError) as refused:
        smapi.create_skill(VENDOR, {})
    assert refused.value.status == 400
    assert refused.value.details == ["manifest is required"]


def test_throttling_is_retried_after_retry_after(monkeypatch, fake):
    sleeps = []
    smapi = linked(fake, sleeps=sleeps)
    answers = iter([429, 200])
    original = fake.route

    def throttled(method, path, *args):
        if path == "/v1/vendors" and next(answers) == 429:
            return 429, {"message": "Rate exceeded"}, {"Retry-After": "3"}
        return original(method, path, *args)

    monkeypatch.setattr(fake, "route", throttled)
    assert smapi.vendors()
    assert sleeps == [3.0]


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


# The simulator --------------------------------------------------------------------------------

def test_a_simulation_while_another_runs_is_refused_with_409_and_waited_out(fake):
    smapi = linked(fake)
    skill_id = ready(smapi)
    fake.busy = True  # a simulation of the same user is running
    waits = []

    def finish_it(seconds):
        waits.append(seconds)
        fake.busy = False

    smapi.sleep = finish_it
    smapi.simulate(skill_id, "open memory game", new_session=True, interval=0.05)
    simulations = f"/v2/skills/{skill_id}/stages/development/simulations"
    assert statuses(fake, simulations) == [409, 200]
    assert waits[0] == 1.0


def test_an_unreachable_endpoint_is_alexas_apology_with_the_request_and_no_response(fake):
    smapi = linked(fake)
    skill_id = ready(smapi)
    sim = smapi.simulate(skill_id, "open memory game", new_session=True, interval=0.05)
    assert sim.status == "SUCCESSFUL"
    assert sim.speech == PROBLEM
    assert sim.endpoint == NOWHERE
    assert sim.request["request"]["type"] == "LaunchRequest"
    assert sim.response is None


def test_a_skill_disabled_for_testing_fails_the_simulation(fake):
    smapi = linked(fake)
    skill_id = ready(smapi)
    next(iter(fake.skills.values()))["enabled"] = False  # turned off in the console
    sim = smapi.simulate(skill_id, "open memory game", new_session=True, interval=0.05)
    assert (sim.status, sim.request) == ("FAILED", None)
    assert "disabled" in sim.error
    assert smapi.enabled(skill_id) is False


def test_a_model_never_built_leaves_the_utterance_unresolved(fake):
    smapi = linked(fake)
    skill_id = smapi.create_skill(VENDOR, MANIFEST)
    smapi.enable_testing(skill_id)
    sim = smapi.simulate(skill_id, "open memory game", new_session=True, interval=0.05)
    assert (sim.status, sim.request) == ("FAILED", None)
    assert "did not resolve" in sim.error
    assert smapi.model_build(skill_id, "en-US") == {}


def test_a_simulation_request_missing_its_locale_is_refused_with_violations(fake):
    smapi = linked(fake)
    skill_id = ready(smapi)
    with pytest.raises(SmapiError) as refused:
        smapi.request("POST", f"/v2/skills/{skill_id}/stages/development/simulations",
                      json={"input": {"content": "open memory game"}})
    assert refused.value.status == 400
    assert refused.value.details == ["device.locale is required."]
