"""A body that is not JSON, or nests too deeply, is refused with 400 and one warning line.

The signature is checked before the body is parsed, so an unsigned body is never parsed at all;
a signed one (or any body with verification off) that cannot be parsed is refused the same way,
never with an ERROR and a traceback per request.
"""

from __future__ import annotations

import json
import logging
import random
import time

import pytest

from skills.runtime import core
from skills.runtime.testing import SkillClient, builders

from .hello import hello_app

pytestmark = pytest.mark.unit

BODIES = {
    "deep-array": b"[" * 100000,
    "deep-object": b'{"a":' * 50000,
    "invalid-utf8": b'{"version": "1.0", "request": {"type": "\xff\xfe"}}',
    "truncated": json.dumps(builders.envelope(builders.launch_request())).encode()[:-7],
}


@pytest.fixture
def client(tmp_path, alexa_pki) -> SkillClient:
    return SkillClient(hello_app(tmp_path, alexa_pki), alexa_pki)


@pytest.fixture
def parses(monkeypatch) -> list[int]:
    """How many bodies the runtime parsed."""
    calls = []
    original = core.parse

    def counting(body):
        calls.append(len(body))
        return original(body)

    monkeypatch.setattr(core, "parse", counting)
    return calls


def assert_one_warning(caplog) -> str:
    """Exactly one record at WARNING or above, and it is no ERROR; returns its message."""
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.levelname for r in loud] == ["WARNING"], [r.getMessage()[:200] for r in loud]
    assert loud[0].exc_info is None and "Traceback" not in loud[0].getMessage()
    return loud[0].getMessage()


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_an_unsigned_bad_body_is_refused_without_being_parsed(client, body, parses, caplog):
    caplog.set_level(logging.DEBUG)
    started = time.perf_counter()
    assert client.post(body, {}).status == 400
    assert time.perf_counter() - started < 1.0
    assert "SignatureCertChainUrl header is missing" in assert_one_warning(caplog)
    assert parses == []


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_a_signed_bad_body_is_refused_with_one_warning(client, alexa_pki, body, parses, caplog):
    caplog.set_level(logging.DEBUG)
    assert client.post(body, alexa_pki.sign(body)).status == 400
    message = assert_one_warning(caplog)
    assert "outcome=refused" in message and "body is" in message
    assert parses == [len(body)]


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_a_bad_body_without_verification_is_refused_with_one_warning(tmp_path, alexa_pki, body,
                                                                     caplog):
    app = hello_app(tmp_path, alexa_pki, ASK_VERIFY_REQUESTS=False)
    caplog.set_level(logging.DEBUG)
    assert SkillClient(app, alexa_pki).post(body, {}).status == 400
    assert "outcome=refused" in assert_one_warning(caplog)


def test_too_deep_json_is_named_as_such(client, alexa_pki, caplog):
    caplog.set_level(logging.WARNING)
    body = BODIES["deep-array"]
    client.post(body, alexa_pki.sign(body))
    assert "nested too deeply" in assert_one_warning(caplog)


def mutations(rng: random.Random, valid: bytes):
    yield from BODIES.values()
    for _ in range(150):
        body = bytearray(valid)
        for _ in range(rng.randrange(1, 6)):
            position = rng.randrange(len(body))
            choice = rng.randrange(3)
            if choice == 0:
                body[position] = rng.randrange(256)
            elif choice == 1:
                del body[position:position + rng.randrange(1, 20)]
            else:
                body[position:position] = rng.choice([b"[", b"{", b'"', b"\\", b"\x00", b"1e999"])
        yield bytes(body)
    for _ in range(50):
        yield bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))


def test_mutated_bodies_signed_or_not_never_give_a_server_error_or_an_error_log(client,
                                                                              alexa_pki, caplog):
    caplog.set_level(logging.WARNING)
    valid = json.dumps(client.envelope(builders.launch_request())).encode()
    statuses = set()
    for body in mutations(random.Random(3), valid):
        statuses.add(client.post(body, {}).status)
        statuses.add(client.post(body, alexa_pki.sign(body)).status)
    assert statuses <= {200, 400}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
