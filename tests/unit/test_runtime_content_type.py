"""The request's Content-Type as Flask-Ask took it: JSON with no Content-Type is read (the
Flask test client sends none for ``data=``), a Content-Type naming something else is refused."""

from __future__ import annotations

import json

import pytest
from flask import Flask

from skills.runtime import Ask, statement
from skills.runtime.testing import builders

pytestmark = pytest.mark.unit


@pytest.fixture
def app():
    app = Flask(__name__)
    app.config["ASK_VERIFY_REQUESTS"] = False  # as Flask-Ask's own test suites run
    ask = Ask(app, "/")

    @ask.launch
    def launch():
        return statement("Hello from the launch")
    return app


def launch_body() -> str:
    return json.dumps(builders.envelope(builders.launch_request()))


def test_a_json_body_without_content_type_is_answered_as_flask_ask_did(app):
    with app.test_client() as client:
        answer = client.post("/", data=launch_body())
    assert "Content-Type" not in answer.request.headers
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["response"]["outputSpeech"]["text"] == "Hello from the launch"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_content_type_that_names_something_else_is_still_refused(app, content_type):
    with app.test_client() as client:
        answer = client.post("/", data=launch_body(), content_type=content_type)
    assert answer.status_code == 400


def test_no_content_type_and_a_body_that_is_not_json_is_refused(app):
    with app.test_client() as client:
        answer = client.post("/", data="not json at all")
    assert answer.status_code == 400
