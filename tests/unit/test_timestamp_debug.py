"""Flask's debug mode does not turn the replay (timestamp) check off: only an explicit
ASK_VERIFY_TIMESTAMP_DEBUG=off may, and only in debug mode."""

from __future__ import annotations

import pytest

from skills.runtime.testing import SkillClient, builders

from .hello import hello_app

pytestmark = pytest.mark.unit

MONTH = 30 * 24 * 3600


def make_app(alexa_pki, tmp_path, **config) -> SkillClient:
    return SkillClient(hello_app(tmp_path, alexa_pki, "Hello", **config), alexa_pki)


def old_launch(client: SkillClient):
    return client.send(builders.launch_request(timestamp=builders.timestamp(-MONTH)))


def test_it_refuses_a_month_old_request_when_flask_debug_is_set(alexa_pki, tmp_path,
                                                                monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")  # read by Flask() itself
    client = make_app(alexa_pki, tmp_path)
    assert client.target.debug is True
    assert old_launch(client).status == 400
    assert client.launch().speech == "Hello"  # a fresh one is still served


def test_it_refuses_a_month_old_request_when_app_debug_is_on(alexa_pki, tmp_path):
    client = make_app(alexa_pki, tmp_path)
    client.target.debug = True
    assert old_launch(client).status == 400


def test_an_explicit_timestamp_debug_off_relaxes_it_in_debug_mode_only(alexa_pki, tmp_path):
    client = make_app(alexa_pki, tmp_path, ASK_VERIFY_TIMESTAMP_DEBUG=False)
    assert old_launch(client).status == 400  # not in debug mode: still checked
    client.target.debug = True
    assert old_launch(client).status == 200
