"""The libcrypto binding that checks each signature, against ``cryptography``'s answers."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from skills.runtime import openssl
from skills.runtime.chains import _CryptographyKey, load_public_key

pytestmark = pytest.mark.unit

BODY = os.urandom(1500)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def spki(public_key) -> bytes:
    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def sign(key, body: bytes = BODY, algorithm=None) -> bytes:
    return key.sign(body, padding.PKCS1v15(), algorithm or hashes.SHA256())


@pytest.fixture(params=["openssl", "cryptography"])
def public(request, key):
    """The binding, and the fallback used where no libcrypto can be loaded: same answers."""
    if request.param == "openssl":
        return openssl.RSAPublicKey(spki(key.public_key()))
    return _CryptographyKey(spki(key.public_key()))


def test_libcrypto_is_found_on_this_system():
    # The fallback exists for other systems; here the binding itself must be what runs.
    assert openssl.available()
    assert isinstance(load_public_key(spki(rsa.generate_private_key(65537, 2048).public_key())),
                      openssl.RSAPublicKey)


def test_it_accepts_a_sha256_signature(public, key):
    assert public.verify(sign(key), BODY, "sha256")


def test_it_accepts_a_sha1_signature_only_as_sha1(public, key):
    signature = sign(key, algorithm=hashes.SHA1())
    assert public.verify(signature, BODY, "sha1")
    assert not public.verify(signature, BODY, "sha256")


@pytest.mark.parametrize("change", ["body", "truncated", "empty", "longer", "flipped_bit"])
def test_it_rejects_what_does_not_match(public, key, change):
    signature, body = sign(key), BODY
    if change == "body":
        body = BODY + b" "
    elif change == "truncated":
        signature = signature[:-1]
    elif change == "empty":
        signature = b""
    elif change == "longer":
        signature += b"\0"
    else:
        signature = bytes([signature[0] ^ 1]) + signature[1:]
    assert not public.verify(signature, body, "sha256")


def test_it_rejects_a_signature_by_another_key(public):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert not public.verify(sign(other), BODY, "sha256")


def test_it_rejects_a_pss_signature(public, key):
    pss = key.sign(BODY, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    assert not public.verify(pss, BODY, "sha256")


def test_it_refuses_an_unknown_digest(key):
    with pytest.raises(ValueError, match="unsupported digest"):
        openssl.RSAPublicKey(spki(key.public_key())).verify(sign(key), BODY, "md5")


def test_it_refuses_bytes_that_are_not_a_public_key():
    with pytest.raises(ValueError, match="SubjectPublicKeyInfo"):
        openssl.RSAPublicKey(b"\x30\x03garbage")


def test_it_refuses_a_key_that_is_not_rsa():
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(ValueError, match="not an RSA key"):
        openssl.RSAPublicKey(spki(ec_key))


def test_a_failed_check_leaves_no_error_behind_for_hashlib_or_ssl(key):
    public = openssl.RSAPublicKey(spki(key.public_key()))
    assert not public.verify(b"\1" * 256, BODY, "sha256")
    assert openssl._lib.ERR_peek_error() == 0
    assert hashlib.sha256(b"abc").hexdigest().startswith("ba7816bf")


def test_one_key_checks_signatures_from_many_threads(key):
    public = openssl.RSAPublicKey(spki(key.public_key()))
    bodies = [os.urandom(64) for _ in range(64)]
    signatures = [sign(key, body) for body in bodies]

    def check(n: int) -> tuple[bool, bool]:
        good = public.verify(signatures[n], bodies[n], "sha256")
        bad = public.verify(signatures[n], bodies[(n + 1) % len(bodies)], "sha256")
        return good, bad

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(check, range(len(bodies))))
    assert results == [(True, False)] * len(bodies)
