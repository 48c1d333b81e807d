"""Every verification case of Amazon's certification, against the real server process.

Each accepted certificate URL has its chain pre-seeded in the skill's disk cache (the fetch path
itself is proven in tests/unit/test_verifier.py), so these tests show what the process answers.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from skills.runtime.requestlog import parse_request
from skills.runtime.testing import CERT_URL, SkillClient, builders
from skills.runtime.testing.process import SkillProcess

from .conftest import MEMORY_GAME

pytestmark = pytest.mark.integration

ACCEPTED_URLS = [
    CERT_URL,
    "https://s3.amazonaws.com:443/echo.api/echo-api-cert.pem",
    "https://s3.amazonaws.com/echo.api/../echo.api/echo-api-cert.pem",
    "HTTPS://s3.AmAzOnAwS.CoM/echo.api/echo-api-cert.pem",
]
REJECTED_URLS = [
    "http://s3.amazonaws.com/echo.api/echo-api-cert.pem",
    "https://notamazon.com/echo.api/echo-api-cert.pem",
    "https://s3.amazonaws.com:563/echo.api/echo-api-cert.pem",
    "https://s3.amazonaws.com/cert/echo-api-cert.pem",
    "https://s3.amazonaws.com/echo.api/../cert/echo-api-cert.pem",
    "https://s3.amazonaws.com/ECHO.API/echo-api-cert.pem",
    "not a url",
]
EXPIRED_URL = "https://s3.amazonaws.com/echo.api/expired.pem"
WRONG_SAN_URL = "https://s3.amazonaws.com/echo.api/wrong-san.pem"
SELF_SIGNED_URL = "https://s3.amazonaws.com/echo.api/self-signed.pem"
GARBAGE_URL = "https://s3.amazonaws.com/echo.api/garbage.pem"
OTHER_SKILL = "amzn1.ask.skill.11111111-1111-1111-1111-111111111111"


@pytest.fixture(scope="module")
def bad_keys(alexa_pki, skill_env):
    """Chains that must be refused, seeded where the skill will look for them."""
    now = dt.datetime.now(dt.UTC)
    cache = skill_env["ASK_CERT_CACHE_DIR"]
    keys = {}
    for url, options in [
        (EXPIRED_URL, {"not_before": now - dt.timedelta(days=30),
                       "not_after": now - dt.timedelta(days=1)}),
        (WRONG_SAN_URL, {"san": "echo-api.example.com"}),
        (SELF_SIGNED_URL, {"self_signed": True}),
    ]:
        chain, keys[url] = alexa_pki.make_chain(**options)
        alexa_pki.seed_cache(cache, url, chain)
    alexa_pki.seed_cache(cache, GARBAGE_URL, b"-----BEGIN CERTIFICATE-----\nnot base64\n")
    for url in ACCEPTED_URLS:
        alexa_pki.seed_cache(cache, url)
    return keys


@pytest.fixture(scope="module")
def guarded_skill(skill_env, tmp_path_factory):
    """A Memory Game that only answers its own skill ID."""
    env = {**skill_env, "ASK_APPLICATION_ID": f"{OTHER_SKILL}, {builders.APPLICATION_ID}"}
    log = tmp_path_factory.mktemp("guarded") / "skill.log"
    with SkillProcess(MEMORY_GAME, env, log_path=log) as process:
        yield process


def _launch_body(alexa: SkillClient, **request_fields) -> bytes:
    return json.dumps(alexa.envelope(builders.launch_request(**request_fields))).encode()


def test_it_answers_a_signed_request(alexa_http, bad_keys):
    reply = alexa_http.launch()
    assert reply.status == 200
    assert reply.speech.startswith("Welcome to memory game")


@pytest.mark.parametrize("url", ACCEPTED_URLS)
def test_it_accepts_certificate_urls_amazon_allows(alexa_http, alexa_pki, bad_keys, url):
    body = _launch_body(alexa_http)
    assert alexa_http.post(body, alexa_pki.sign(body, url)).status == 200


@pytest.mark.parametrize("url", REJECTED_URLS)
def test_it_refuses_certificate_urls_amazon_forbids(alexa_http, alexa_pki, bad_keys, url):
    body = _launch_body(alexa_http)
    assert alexa_http.post(body, alexa_pki.sign(body, url)).status == 400


@pytest.mark.parametrize("url", [EXPIRED_URL, WRONG_SAN_URL, SELF_SIGNED_URL])
def test_it_refuses_chains_that_do_not_verify(alexa_http, alexa_pki, bad_keys, url):
    body = _launch_body(alexa_http)
    reply = alexa_http.post(body, alexa_pki.sign(body, url, key=bad_keys[url]))
    assert reply.status == 400


def test_it_refuses_a_chain_that_is_not_pem(alexa_http, alexa_pki, bad_keys):
    body = _launch_body(alexa_http)
    assert alexa_http.post(body, alexa_pki.sign(body, GARBAGE_URL)).status == 400


def test_it_refuses_a_missing_signature(alexa_http, alexa_pki):
    body = _launch_body(alexa_http)
    headers = alexa_pki.sign(body)
    del headers["Signature-256"], headers["Signature"]
    assert alexa_http.post(body, headers).status == 400


@pytest.mark.parametrize("value", ["", "%%% not base64 %%%", "c2hvcnQ="])
def test_it_refuses_empty_malformed_or_wrong_signatures(alexa_http, alexa_pki, value):
    body = _launch_body(alexa_http)
    headers = {**alexa_pki.sign(body), "Signature-256": value}
    assert alexa_http.post(body, headers).status == 400


def test_it_refuses_a_body_changed_after_signing(alexa_http, alexa_pki):
    body = _launch_body(alexa_http)
    headers = alexa_pki.sign(body)
    assert alexa_http.post(body.replace(b"LaunchRequest", b"LaunchRequesT"), headers).status == 400


def test_it_falls_back_to_sha1_only_without_signature_256(alexa_http, alexa_pki):
    body = _launch_body(alexa_http)
    headers = alexa_pki.sign(body)
    del headers["Signature-256"]
    assert alexa_http.post(body, headers).status == 200


def test_it_ignores_a_good_sha1_when_signature_256_is_wrong(alexa_http, alexa_pki):
    body = _launch_body(alexa_http)
    other = alexa_pki.sign(_launch_body(alexa_http))
    headers = {**alexa_pki.sign(body), "Signature-256": other["Signature-256"]}
    assert alexa_http.post(body, headers).status == 400


@pytest.mark.parametrize("offset", [-200, 200])
def test_it_refuses_timestamps_more_than_150_s_away(alexa_http, alexa_pki, offset):
    body = _launch_body(alexa_http, timestamp=builders.timestamp(offset))
    assert alexa_http.post(body, alexa_pki.sign(body)).status == 400


def test_it_accepts_a_timestamp_within_150_s(alexa_http, alexa_pki):
    body = _launch_body(alexa_http, timestamp=builders.timestamp(-120))
    assert alexa_http.post(body, alexa_pki.sign(body)).status == 200


@pytest.mark.parametrize(("age", "status"), [(-1800, 200), (-4000, 400)])
def test_skill_events_get_an_hour(alexa_http, alexa_pki, age, status):
    event = builders.skill_event_request("AlexaSkillEvent.SkillEnabled")
    event["timestamp"] = builders.timestamp(age)
    body = json.dumps(builders.envelope(event, with_session=False)).encode()
    assert alexa_http.post(body, alexa_pki.sign(body)).status == status


def test_it_answers_its_own_skill_ids(guarded_skill, alexa_pki):
    for skill_id in (builders.APPLICATION_ID, OTHER_SKILL):
        alexa = SkillClient(guarded_skill.url, alexa_pki, application_id=skill_id)
        assert alexa.launch().status == 200


def test_it_refuses_another_skills_requests(guarded_skill, alexa_pki):
    stranger = "amzn1.ask.skill.22222222-2222-2222-2222-222222222222"
    alexa = SkillClient(guarded_skill.url, alexa_pki, application_id=stranger)
    assert alexa.launch().status == 400


@pytest.mark.parametrize("body", [
    b"{not json",
    b"[1, 2, 3]",
    b'{"version": "1.0"}',
    b'{"version": "1.0", "request": {"type": "IntentRequest"}}',
    b'{"version": "1.0", "request": {"type": 7}}',
    "\udcff".encode("utf-8", "surrogatepass"),
])
def test_it_refuses_malformed_bodies_with_400(alexa_http, alexa_pki, body):
    reply = alexa_http.post(body, alexa_pki.sign(body))
    assert reply.status == 400
    assert b"Traceback" not in reply.body


def test_it_refuses_a_body_that_is_not_json_typed(alexa_http, alexa_pki):
    body = _launch_body(alexa_http)
    assert alexa_http.post(body, alexa_pki.sign(body), content_type="text/plain").status == 400


def test_it_refuses_an_oversized_body(alexa_http, alexa_pki):
    envelope = alexa_http.envelope(builders.launch_request())
    envelope["padding"] = "x" * (300 * 1024)
    body = json.dumps(envelope).encode()
    assert alexa_http.post(body, alexa_pki.sign(body)).status == 400


def test_it_logs_why_it_refused(memory_game, alexa_http, alexa_pki):
    body = _launch_body(alexa_http)
    alexa_http.post(body, {})
    rows = [parse_request(line) for line in memory_game.logs().splitlines()]
    refused = [row for row in rows if row and row["outcome"] == "refused"]
    assert refused[-1]["reason"] == "SignatureCertChainUrl header is missing"
