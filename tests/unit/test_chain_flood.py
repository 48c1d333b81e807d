"""Forged requests cannot make a skill fetch, validate or keep chains without bound.

A signature of the wrong shape is refused before any fetch; spellings of one URL share one
cache entry; the memory and disk caches are bounded; and new URLs are fetched at most a few
times a minute. Chains come over real HTTPS from the local fake S3 (``fake_s3.py``).
"""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

import pytest
from flask import Flask

from skills.runtime import Ask, statement
from skills.runtime.chains import FETCHES_PER_MINUTE, MAX_ENTRIES, MAX_FILES, TokenBucket
from skills.runtime.testing import CERT_URL, SkillClient, builders, trust
from skills.runtime.verifier import (
    CertChainStore,
    RequestVerifier,
    VerificationError,
    cache_file_name,
    check_cert_chain_url,
)

from .fake_s3 import running_s3

pytestmark = pytest.mark.unit

CANONICAL = "https://s3.amazonaws.com/echo.api/echo-api-cert.pem"
JUNK_2048 = base64.b64encode(b"\x01" * 256).decode()  # shaped like an RSA-2048 signature


@pytest.fixture(scope="module")
def s3(tmp_path_factory, alexa_pki):
    with running_s3(tmp_path_factory.mktemp("s3")) as fake:
        fake.fallback = (200, {}, alexa_pki.chain_pem)  # the worst case: every path is valid
        yield fake


@pytest.fixture
def ca_bundle(alexa_pki, tmp_path) -> str:
    return alexa_pki.write_ca_bundle(tmp_path / "root.pem")


def fetched(s3) -> int:
    return sum(s3.hits.values())


@pytest.mark.parametrize("url", [
    CANONICAL,
    "HTTPS://S3.AMAZONAWS.COM:443/echo.api/echo-api-cert.pem",
    "https://s3.amazonaws.com/echo.api/./x/../echo-api-cert.pem",
    "https://s3.amazonaws.com/echo.api/%65cho-api-cert%2epem",
    "https://s3.amazonaws.com/echo.api/echo-api-cert.pem#7",
    "https://s3.amazonaws.com/echo.api//echo-api-cert.pem",
])
def test_every_spelling_of_a_url_has_one_canonical_form(url):
    assert check_cert_chain_url(url) == CANONICAL


@pytest.mark.parametrize("url, reason", [
    (CANONICAL + "?x=1", "must not have a query"),
    (CANONICAL + "?", "must not have a query"),
    ("https://s3.amazonaws.com/echo.api/a b.pem", "not a valid URL"),
    ("https://s3.amazonaws.com/echo.api/a\n.pem", "not a valid URL"),
    ("https://s3.amazonaws.com/echo.api/é.pem", "path is not valid"),
    ("https://s3.amazonaws.com/echo.api/%2e%2e/cert.pem", "path must start with /echo.api/"),
])
def test_a_url_with_a_query_or_odd_characters_is_refused(url, reason):
    with pytest.raises(VerificationError, match=reason):
        check_cert_chain_url(url)


def test_escapes_of_reserved_characters_are_kept_in_one_case():
    assert check_cert_chain_url("https://s3.amazonaws.com/echo.api/a%2fb") == \
        "https://s3.amazonaws.com/echo.api/a%2Fb"


class NoNetwork:
    def get(self, *args, **kwargs):
        raise AssertionError("fetched a chain for a request refused by its signature's shape")


@pytest.mark.parametrize("signature, reason", [
    (base64.b64encode(b"\x01" * 16).decode(), "16 bytes, not an RSA-2048 to RSA-4096"),
    (base64.b64encode(b"\x01" * 513).decode(), "513 bytes"),
    (base64.b64encode(b"\x01" * 255).decode(), "255 bytes"),
    ("A" * 100000, "longer than an RSA-4096 signature"),
    ("not base64!" * 30, "not valid base64"),
])
def test_a_junk_signature_is_refused_before_any_fetch(tmp_path, signature, reason):
    verifier = RequestVerifier(CertChainStore(cache_dir=str(tmp_path), session=NoNetwork()))
    headers = {"SignatureCertChainUrl": CANONICAL, "Signature-256": signature}
    with pytest.raises(VerificationError, match=reason):
        verifier.check_signature(headers, b"{}")


@pytest.mark.parametrize("size", [256, 384, 512])
def test_signatures_of_rsa_2048_to_4096_are_the_right_shape(tmp_path, size):
    verifier = RequestVerifier(CertChainStore(cache_dir=str(tmp_path), session=NoNetwork()))
    headers = {"SignatureCertChainUrl": CANONICAL,
               "Signature-256": base64.b64encode(b"\x01" * size).decode()}
    with pytest.raises(AssertionError, match="fetched a chain"):  # past the shape, to the fetch
        verifier.check_signature(headers, b"{}")


def test_memory_and_disk_keep_at_most_their_bound_newest_first(s3, ca_bundle, tmp_path):
    cache = tmp_path / "cache"
    store = CertChainStore(ca_bundle=ca_bundle, cache_dir=str(cache), session=s3.session,
                           max_entries=4, max_files=3, fetches_per_minute=1000)
    urls = [f"https://s3.amazonaws.com/echo.api/bound-{n}.pem" for n in range(12)]
    for url in urls:
        store.public_key(url)
        time.sleep(0.002)  # distinct modification times: "oldest" is well defined
    assert list(store._entries) == urls[-4:]
    assert sorted(os.listdir(cache)) == sorted(cache_file_name(url) for url in urls[-3:])


def test_new_urls_are_fetched_at_most_the_rate_limit(s3, ca_bundle, tmp_path):
    store = CertChainStore(ca_bundle=ca_bundle, cache_dir=str(tmp_path), session=s3.session,
                           fetches_per_minute=5)
    before, refused = fetched(s3), []
    for n in range(20):
        try:
            store.public_key(f"https://s3.amazonaws.com/echo.api/rate-{n}.pem")
        except VerificationError as exc:
            refused.append(str(exc))
    assert fetched(s3) - before == 5
    assert len(refused) == 15 and "over 5 new certificate URLs a minute" in refused[0]


def test_a_chain_on_disk_needs_no_fetch_and_no_token(alexa_pki, ca_bundle, tmp_path):
    alexa_pki.seed_cache(tmp_path, CANONICAL)
    store = CertChainStore(ca_bundle=ca_bundle, cache_dir=str(tmp_path), session=NoNetwork(),
                           fetches_per_minute=0)
    assert store.public_key(CANONICAL) is not None


def test_the_token_bucket_refills_over_a_minute():
    now = [0.0]
    bucket = TokenBucket(6, clock=lambda: now[0])
    assert [bucket.take() for _ in range(7)] == [True] * 6 + [False]
    now[0] += 10  # a sixth of a minute: one token
    assert [bucket.take(), bucket.take()] == [True, False]
    now[0] += 3600  # never more than the burst
    assert sum(bucket.take() for _ in range(10)) == 6


def flood_requests(n: int) -> list[tuple[str, str]]:
    """(URL, Signature-256) of forged requests: the issue's #n and ?x=n, new paths, junk."""
    kinds = [
        lambda i: (f"{CERT_URL}#{i}", JUNK_2048),
        lambda i: (f"{CERT_URL}?x={i}", JUNK_2048),
        lambda i: (f"https://s3.amazonaws.com/echo.api/flood-{i}.pem", JUNK_2048),
        lambda i: (f"https://s3.amazonaws.com/echo.api/flood-{i}.pem", "AAAA"),
    ]
    return [kinds[i % len(kinds)](i) for i in range(n)]


def test_a_thousand_forged_requests_cost_a_bounded_number_of_fetches_files_and_entries(
        s3, alexa_pki, tmp_path):
    app = Flask(__name__, root_path=str(tmp_path))
    ask = Ask(app, "/")
    ask.launch(lambda: statement("hello"))
    trust(app, alexa_pki, tmp_path / "trust")  # the real chain is seeded on disk for CERT_URL
    store = app.extensions["skills.runtime"].verifier.store
    store.session = s3.session
    cache = Path(store.cache_dir)
    client = SkillClient(app, alexa_pki)
    body = json.dumps(client.envelope(builders.launch_request())).encode()

    before = fetched(s3)
    started = time.perf_counter()
    statuses = [client.post(body, {"SignatureCertChainUrl": url, "Signature-256": signature}
                            ).status for url, signature in flood_requests(1000)]
    elapsed = time.perf_counter() - started

    assert set(statuses) == {400}
    # The bucket's burst, plus what it refills while the flood runs (a slow machine's margin).
    assert fetched(s3) - before <= FETCHES_PER_MINUTE * (1 + elapsed / 60)
    assert len(store._entries) <= MAX_ENTRIES
    assert len(list(cache.iterdir())) <= MAX_FILES
    assert elapsed < 30, f"1000 forged requests took {elapsed:.1f} s"  # before: ~10 minutes
    print(f"\n1000 forged requests: {elapsed * 1000:.0f} ms, {fetched(s3) - before} fetches, "
          f"{len(store._entries)} entries, {len(list(cache.iterdir()))} files")
    # Alexa's own requests still pass: their chain needs no fetch.
    assert client.launch().status == 200
