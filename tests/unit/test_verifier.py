"""Request verification as Amazon's certification tests it, against a throwaway PKI.

Chains are fetched over real HTTPS from a local server posing as s3.amazonaws.com
(``fake_s3.py``), so the fetch, redirect, size and timeout rules are exercised through
requests/urllib3 rather than a fake.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from werkzeug.datastructures import Headers

from skills.runtime.testing.certs import CERT_URL, TestPKI
from skills.runtime.verifier import (
    CertChainStore,
    RequestVerifier,
    VerificationError,
    cache_file_name,
    check_application_id,
    check_cert_chain_url,
    check_timestamp,
)

from .fake_s3 import local_session, running_s3

pytestmark = pytest.mark.unit

APP_ID = "amzn1.ask.skill.00000000-0000-0000-0000-000000000001"
DAY = dt.timedelta(days=1)


def iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class NoNetwork:
    """A session that fails the test if the store tries to fetch anything."""

    def get(self, *args, **kwargs):
        raise AssertionError("the store fetched a chain it should have had cached")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return TestPKI()


@pytest.fixture(scope="module")
def ca_bundle(pki, tmp_path_factory) -> str:
    return pki.write_ca_bundle(tmp_path_factory.mktemp("ca") / "root.pem")


@pytest.fixture
def clock() -> Clock:
    return Clock(float(int(dt.datetime.now(dt.UTC).timestamp())))  # whole seconds, like iso()


@pytest.fixture(params=["inline", "child"])
def validation(request) -> str:
    """Chains validated in this process, and in the child process a skill process uses."""
    return request.param


def spki(key) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture
def cached_store(pki, ca_bundle, tmp_path, clock, validation) -> CertChainStore:
    pki.seed_cache(tmp_path)
    return CertChainStore(ca_bundle=ca_bundle, cache_dir=str(tmp_path), session=NoNetwork(),
                          clock=clock, validation=validation)


@pytest.fixture
def verifier(cached_store, clock) -> RequestVerifier:
    return RequestVerifier(cached_store, application_ids={APP_ID}, clock=clock)


def make_request(now: float, **request) -> tuple[bytes, dict]:
    payload = {
        "version": "1.0",
        "context": {"System": {"application": {"applicationId": APP_ID}}},
        "request": {"type": "LaunchRequest", "timestamp": iso(now), **request},
    }
    body = json.dumps(payload).encode()
    return body, json.loads(body)


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    with running_s3(tmp_path_factory.mktemp("s3")) as fake:
        yield fake


@pytest.fixture
def fetching_store(s3, ca_bundle, tmp_path, clock, validation):
    def build(**kwargs) -> CertChainStore:
        options = {"ca_bundle": ca_bundle, "cache_dir": str(tmp_path / "cache"), "clock": clock,
                   "validation": validation}
        return CertChainStore(**{**options, "session": s3.session, **kwargs})

    return build


ACCEPTED_URLS = {
    "canonical": "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
    "port_443": "https://s3.amazonaws.com:443/echo.api/echo-api-cert.pem",
    "dot_dot_back_into_echo_api": "https://s3.amazonaws.com/echo.api/../echo.api/echo-api-cert.pem",
    "scheme_and_host_in_mixed_case": "HTTPS://s3.AmAzOnAwS.CoM/echo.api/echo-api-cert.pem",
}
REJECTED_URLS = {
    "http": "http://s3.amazonaws.com/echo.api/echo-api-cert.pem",
    "other_host": "https://notamazon.com/echo.api/echo-api-cert.pem",
    "port_563": "https://s3.amazonaws.com:563/echo.api/echo-api-cert.pem",
    "path_outside_echo_api": "https://s3.amazonaws.com/cert/echo-api-cert.pem",
    "dot_dot_out_of_echo_api": "https://s3.amazonaws.com/echo.api/../cert/echo-api-cert.pem",
    "path_in_upper_case": "https://s3.amazonaws.com/ECHO.API/echo-api-cert.pem",
    "not_a_url": "not a url",
    "non_numeric_port": "https://s3.amazonaws.com:notaport/echo.api/x",
    "userinfo": "https://user:pw@s3.amazonaws.com/echo.api/echo-api-cert.pem",
    "host_suffix": "https://s3.amazonaws.com.evil.example/echo.api/echo-api-cert.pem",
    "userinfo_disguised_as_port": "https://s3.amazonaws.com:443@evil.example/echo.api/x.pem",
    "no_file_under_echo_api": "https://s3.amazonaws.com/echo.api",
    "empty": "",
    "missing": None,
}


@pytest.mark.parametrize("url", ACCEPTED_URLS.values(), ids=ACCEPTED_URLS.keys())
def test_it_accepts_cert_chain_url(url):
    check_cert_chain_url(url)


@pytest.mark.parametrize("url", REJECTED_URLS.values(), ids=REJECTED_URLS.keys())
def test_it_rejects_cert_chain_url(url):
    with pytest.raises(VerificationError, match="SignatureCertChainUrl"):
        check_cert_chain_url(url)


def test_it_names_the_required_host_when_rejecting_a_url():
    with pytest.raises(VerificationError, match=r"host must be s3\.amazonaws\.com"):
        check_cert_chain_url("https://notamazon.com/echo.api/echo-api-cert.pem")


def test_it_names_cache_files_by_the_sha256_of_the_exact_url():
    assert cache_file_name(CERT_URL) == cache_file_name(CERT_URL)
    assert cache_file_name(CERT_URL) != cache_file_name(CERT_URL.upper())
    assert len(cache_file_name(CERT_URL)) == 64 + len(".pem")


def refused(store: CertChainStore, url: str) -> str:
    with pytest.raises(VerificationError) as info:
        store.public_key(url)
    return str(info.value)


def test_it_accepts_a_valid_chain(pki, s3, fetching_store):
    key = fetching_store().public_key(s3.serve(pki.chain_pem))
    assert key.spki_der == spki(pki.leaf_key.public_key())


BAD_CHAINS = {
    "expired_leaf": (
        lambda pki, now: pki.make_chain(not_before=now - 10 * DAY, not_after=now - DAY)[0],
        "signing certificate expired at",
    ),
    "leaf_not_valid_yet": (
        lambda pki, now: pki.make_chain(not_before=now + DAY, not_after=now + 10 * DAY)[0],
        "signing certificate is not valid before",
    ),
    "leaf_for_another_name": (
        lambda pki, now: pki.make_chain(san="echo-api.amazon.com.evil.example")[0],
        "not issued to echo-api.amazon.com",
    ),
    "self_signed_leaf": (
        lambda pki, now: pki.make_chain(self_signed=True)[0],
        "signing certificate chain is not trusted",
    ),
    "garbage_instead_of_pem": (lambda pki, now: b"<html>hi</html>", "not valid PEM"),
    "leaf_key_not_rsa": (
        lambda pki, now: pki.make_chain(key=ec.generate_private_key(ec.SECP256R1()))[0],
        "signing certificate key is not RSA",
    ),
}


@pytest.mark.parametrize("make, reason", BAD_CHAINS.values(), ids=BAD_CHAINS.keys())
def test_it_rejects_a_bad_chain(pki, s3, fetching_store, clock, make, reason):
    chain = make(pki, dt.datetime.fromtimestamp(clock.now, dt.UTC))
    assert reason in refused(fetching_store(), s3.serve(chain))


def test_it_rejects_a_chain_from_a_root_it_does_not_trust(pki, s3, fetching_store):
    # With the default bundle (certifi) the test root is just another unknown CA.
    assert "not trusted" in refused(fetching_store(ca_bundle=None), s3.serve(pki.chain_pem))


def test_it_loads_the_ca_bundle_lazily_and_keeps_the_cache_when_it_is_missing(
    pki, tmp_path, validation
):
    bundle = tmp_path / "absent.pem"
    store = CertChainStore(ca_bundle=str(bundle), cache_dir=str(tmp_path), session=NoNetwork(),
                           validation=validation)
    path = pki.seed_cache(tmp_path)
    with pytest.raises(VerificationError, match="could not load the CA bundle"):
        store.public_key(CERT_URL)
    assert os.path.exists(path)  # a broken bundle says nothing about the cached chain
    pki.write_ca_bundle(bundle)
    store.public_key(CERT_URL)


def test_it_uses_a_chain_from_the_disk_cache_without_fetching(cached_store, pki):
    key = cached_store.public_key(CERT_URL)
    assert key.spki_der == spki(pki.leaf_key.public_key())


def test_it_revalidates_a_bad_disk_file_and_fetches_a_good_chain(pki, s3, fetching_store, tmp_path):
    url = s3.serve(pki.chain_pem)
    path = pki.seed_cache(tmp_path / "cache", url, chain_pem=pki.make_chain(san="wrong.example")[0])
    fetching_store().public_key(url)
    assert s3.hits[urlsplit(url).path] == 1
    with open(path, "rb") as fh:
        assert fh.read() == pki.chain_pem


def test_it_removes_a_bad_disk_file_even_when_the_fetch_fails(pki, ca_bundle, tmp_path,
                                                              validation):
    path = pki.seed_cache(tmp_path, chain_pem=b"garbage")

    class Offline:
        def get(self, *args, **kwargs):
            raise requests.ConnectionError("offline")

    store = CertChainStore(ca_bundle=ca_bundle, cache_dir=str(tmp_path), session=Offline(),
                           validation=validation)
    message = refused(store, CERT_URL)
    assert message == "could not fetch the signing certificate chain: ConnectionError"
    assert not os.path.exists(path)


def test_it_answers_from_memory_without_validating_or_disk(cached_store, tmp_path, monkeypatch):
    cached_store.public_key(CERT_URL)
    os.remove(tmp_path / cache_file_name(CERT_URL))

    def no_validation(*args):
        raise AssertionError("chain validated again on a cache hit")

    monkeypatch.setattr(cached_store, "_validate", no_validation)
    for _ in range(200):
        cached_store.public_key(CERT_URL)


def test_it_rechecks_expiry_of_a_chain_held_in_memory(pki, s3, fetching_store, clock):
    url = s3.serve(pki.chain_pem)
    store = fetching_store()
    store.public_key(url)
    clock.now = pki.leaf_cert.not_valid_after_utc.timestamp() + 1
    # The memory entry is dropped, the disk copy and a refetch both fail at the new time.
    assert "expired" in refused(store, url)
    assert s3.hits[urlsplit(url).path] == 2


def test_it_fetches_a_url_once_for_concurrent_requests(pki, s3, fetching_store):
    url = s3.serve(pki.chain_pem, headers={"X-Delay": "1"})
    store = fetching_store(cache_dir=None)
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: store.public_key(url), range(8)))  # re-raises errors
    assert len({id(key) for key in keys}) == 1
    assert s3.hits[urlsplit(url).path] == 1
    assert store._url_locks == {}  # per-URL locks do not pile up


def test_it_writes_a_fetched_chain_to_the_disk_cache_with_mode_0600(
    pki, s3, fetching_store, tmp_path
):
    url = s3.serve(pki.chain_pem)
    fetching_store().public_key(url)
    path = tmp_path / "cache" / cache_file_name(url)
    assert path.read_bytes() == pki.chain_pem
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind


def test_it_refuses_a_server_whose_tls_certificate_it_does_not_trust(pki, s3, fetching_store):
    # Guards the harness too: the fetch really verifies TLS, so passing tests mean something.
    session = local_session(s3.port, pki.write_ca_bundle(s3.dir / "wrong.pem"))
    message = refused(fetching_store(session=session), s3.serve(pki.chain_pem))
    assert message == "could not fetch the signing certificate chain: SSLError"


def test_it_refuses_a_redirect(pki, s3, fetching_store):
    target = s3.serve(pki.chain_pem)
    url = s3.serve(b"", status=302, headers={"Location": target})
    assert refused(fetching_store(), url).endswith("HTTP 302")
    assert s3.hits[urlsplit(target).path] == 0


def test_it_refuses_a_declared_body_larger_than_max_bytes(pki, s3, fetching_store):
    url = s3.serve(pki.chain_pem + b"\n" * 8192)
    assert "larger than 4096 bytes" in refused(fetching_store(max_bytes=4096), url)


def test_it_refuses_a_streamed_body_larger_than_max_bytes(pki, s3, fetching_store):
    url = s3.serve(pki.chain_pem + b"\n" * 8192, headers={"X-Unsized": "1"})
    assert "larger than 4096 bytes" in refused(fetching_store(max_bytes=4096), url)


def test_it_refuses_a_404(s3, fetching_store):
    assert refused(fetching_store(), s3.serve(b"NoSuchKey", status=404)).endswith("HTTP 404")


def test_it_refuses_a_server_that_stalls_past_the_timeout(pki, s3, fetching_store):
    url = s3.serve(pki.chain_pem, headers={"X-Stall": "1"})
    message = refused(fetching_store(timeout=0.5), url)
    assert message == "could not fetch the signing certificate chain: ReadTimeout"


@pytest.fixture
def signed(pki, clock) -> tuple[dict[str, str], bytes, dict]:
    body, payload = make_request(clock.now)
    return pki.sign(body), body, payload


def assert_refused(verifier, headers, body, payload, match: str) -> None:
    with pytest.raises(VerificationError, match=match):
        verifier.verify(headers, body, payload)


def test_it_accepts_a_valid_signature_256(verifier, pki, signed):
    _, body, payload = signed
    verifier.verify(pki.sign(body, sha1=False), body, payload)


def test_it_reads_headers_case_insensitively(verifier, signed):
    headers, body, payload = signed
    verifier.verify(Headers([(k.lower(), v) for k, v in headers.items()]), body, payload)


def test_it_falls_back_to_sha1_only_without_signature_256(verifier, signed):
    headers, body, payload = signed
    del headers["Signature-256"]
    verifier.verify(headers, body, payload)


def test_it_ignores_a_valid_sha1_signature_when_signature_256_is_wrong(verifier, pki, signed):
    headers, body, payload = signed
    headers["Signature-256"] = pki.sign(b"other body")["Signature-256"]
    assert_refused(verifier, headers, body, payload, "^Signature-256 does not match the body$")


def test_it_rejects_a_tampered_body(verifier, signed):
    headers, body, payload = signed
    tampered = body.replace(b"LaunchRequest", b"IntentRequest")
    assert_refused(verifier, headers, tampered, payload, "Signature-256 does not match the body")


def test_it_rejects_a_body_signed_by_another_key(verifier, pki, signed):
    _, body, payload = signed
    headers = pki.sign(body, key=pki.make_chain()[1])
    assert_refused(verifier, headers, body, payload, "Signature-256 does not match the body")


@pytest.mark.parametrize("header", ["Signature-256", "Signature"])
def test_it_rejects_an_empty_signature_header(verifier, signed, header):
    headers, body, payload = signed
    if header == "Signature":
        del headers["Signature-256"]
    headers[header] = ""
    assert_refused(verifier, headers, body, payload, f"^{header} header is empty$")


def test_it_rejects_a_signature_that_is_not_base64(verifier, signed):
    headers, body, payload = signed
    headers["Signature-256"] = headers["Signature-256"][:-4] + "!!!="
    assert_refused(verifier, headers, body, payload, "^Signature-256 header is not valid base64")


def test_it_rejects_a_request_without_signature_headers(verifier, signed):
    _, body, payload = signed
    headers = {"SignatureCertChainUrl": CERT_URL}
    assert_refused(verifier, headers, body, payload, "not signed")


def test_it_rejects_a_request_without_a_cert_chain_url(verifier, signed):
    headers, body, payload = signed
    del headers["SignatureCertChainUrl"]
    assert_refused(verifier, headers, body, payload, "SignatureCertChainUrl header is missing")


NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
EVENT = "AlexaSkillEvent.SkillEnabled"
ACCEPTED_TIMESTAMPS = {
    "recent": (iso(NOW - 10), "IntentRequest"),
    "150_s_old": (iso(NOW - 150), "IntentRequest"),
    "150_s_ahead": (iso(NOW + 150), "IntentRequest"),
    "fraction_and_offset": ("2027-01-15T08:00:00.123+00:00", "IntentRequest"),
    "skill_event_an_hour_old": (iso(NOW - 3600), EVENT),
    "epoch_ms_int": (int(NOW * 1000) - 5000, "LaunchRequest"),
    "epoch_ms_float": (NOW * 1000 + 5000.5, "LaunchRequest"),
}
REJECTED_TIMESTAMPS = {
    "412_s_old": (
        iso(NOW - 412),
        "IntentRequest",
        r"^request timestamp is 412 s old \(limit 150 s\)$",
    ),
    "151_s_in_the_future": (iso(NOW + 151), "IntentRequest", "151 s in the future"),
    "skill_event_3601_s_old": (iso(NOW - 3601), EVENT, r"limit 3600 s"),
    "epoch_ms_old": (int(NOW * 1000) - 151_000, "LaunchRequest", "151 s old"),
    "garbage": ("yesterday", "LaunchRequest", "not ISO 8601"),
    "empty": ("", "LaunchRequest", "not ISO 8601"),
    "missing": (None, "LaunchRequest", "missing"),
    "bool": (True, "LaunchRequest", "not a valid date"),
    "object": ({}, "LaunchRequest", "not a valid date"),
    "nan": (float("nan"), "LaunchRequest", "not a valid date"),
}


@pytest.mark.parametrize("ts, kind", ACCEPTED_TIMESTAMPS.values(), ids=ACCEPTED_TIMESTAMPS.keys())
def test_it_accepts_timestamp(ts, kind):
    check_timestamp(ts, kind, now=NOW)


@pytest.mark.parametrize(
    "ts, kind, match", REJECTED_TIMESTAMPS.values(), ids=REJECTED_TIMESTAMPS.keys()
)
def test_it_rejects_timestamp(ts, kind, match):
    with pytest.raises(VerificationError, match=match):
        check_timestamp(ts, kind, now=NOW)


def test_it_checks_the_timestamp_of_a_signed_request(verifier, pki, clock):
    body, payload = make_request(clock.now - 200)
    with pytest.raises(VerificationError, match="200 s old"):
        verifier.verify(pki.sign(body), body, payload)


def test_it_skips_the_timestamp_when_told_to(cached_store, pki, clock):
    body, payload = make_request(clock.now - 200)
    RequestVerifier(cached_store, check_timestamps=False, clock=clock).verify(
        pki.sign(body), body, payload
    )


def app(applicationId: str) -> dict:
    return {"application": {"applicationId": applicationId}}


def test_it_accepts_an_allowed_application_id():
    check_application_id({"context": {"System": app(APP_ID)}}, {APP_ID})


def test_it_falls_back_to_the_session_application_id():
    check_application_id({"context": {"System": {}}, "session": app(APP_ID)}, {APP_ID})


def test_it_rejects_a_missing_application_id():
    with pytest.raises(VerificationError, match="no applicationId"):
        check_application_id({"context": {"System": {}}, "request": {}}, {APP_ID})


def test_it_rejects_another_application_id(verifier, pki, clock):
    body, payload = make_request(clock.now)
    payload["context"]["System"] = app("amzn1.ask.skill.other")
    with pytest.raises(VerificationError, match=r"amzn1\.ask\.skill\.other"):
        verifier.verify(pki.sign(body), body, payload)


def test_it_does_not_check_the_application_id_when_none_are_configured(cached_store, pki, clock):
    body, payload = make_request(clock.now)
    del payload["context"]
    RequestVerifier(cached_store, clock=clock).verify(pki.sign(body), body, payload)


def test_it_verifies_repeatedly_from_the_memory_cache(verifier, pki, clock):
    # The hot path the latency budget is about; exercised, not timed (see tests/bench).
    body, payload = make_request(clock.now)
    headers = pki.sign(body)
    for _ in range(500):
        verifier.verify(headers, body, payload)
